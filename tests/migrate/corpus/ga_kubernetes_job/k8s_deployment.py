from prefect.deployments import Deployment
from prefect.infrastructure import KubernetesJob
from prefect.blocks.kubernetes import KubernetesClusterConfig

from flows.train import train

k8s_job = KubernetesJob(
    namespace="ml",
    image="acme/train:3.1",
    image_pull_policy="IfNotPresent",
    finished_job_ttl=300,
    cluster_config=KubernetesClusterConfig.load("gke-prod"),
    customizations=[
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/resources",
            "value": {"limits": {"memory": "4Gi"}},
        }
    ],
)

deployment = Deployment.build_from_flow(
    flow=train,
    name="train-k8s",
    infrastructure=k8s_job,
    work_pool_name="kubernetes",
    parameters={"epochs": 10},
)
deployment.apply()
