from prefect import flow


@flow
def sync(env: str):
    print(f"sync {env}")
