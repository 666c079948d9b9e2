from prefect import flow


@flow
def crunch(rows: int = 100):
    print(f"crunched {rows} rows")
