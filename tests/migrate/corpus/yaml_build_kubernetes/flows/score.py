from prefect import flow


@flow
def score(model: str = "v1"):
    print(f"scoring with {model}")
