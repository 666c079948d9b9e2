from prefect.deployments import Deployment
from prefect.infrastructure import Process

deployment = Deployment(
    name="sales-emea",
    flow_name="sales-summary",
    entrypoint="pipelines/sales.py:sales_summary",
    infrastructure=Process(working_dir=None),
    parameters={"region": "apac"},
    work_queue_name="sales",
    description="Daily sales summary",
)
deployment_id = None

if __name__ == "__main__":
    deployment.apply()
