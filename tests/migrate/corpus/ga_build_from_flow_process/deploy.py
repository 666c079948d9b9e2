"""Register the weather deployment: python deploy.py"""
from prefect.deployments import Deployment
from prefect.infrastructure import Process

from flows.weather import weather

deployment = Deployment.build_from_flow(
    flow=weather,
    name="weather-oslo",
    parameters={"city": "Oslo"},
    infrastructure=Process(),
    work_queue_name="default",
    tags=["weather"],
    version="1",
)

if __name__ == "__main__":
    deployment.apply()
