from prefect import flow


@flow
def sales_summary(region: str = "emea"):
    print(f"sales summary for {region}")
