from prefect import flow


@flow
def etl(batch: int = 10):
    print(f"etl batch {batch}")
