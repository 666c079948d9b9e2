from prefect import flow, get_run_logger


@flow
def ingest(source: str = "s3://raw"):
    get_run_logger().info("ingesting %s", source)
