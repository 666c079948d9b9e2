from prefect import flow


@flow(log_prints=True)
def hello(name: str = "marvin"):
    print(f"hi {name}")
