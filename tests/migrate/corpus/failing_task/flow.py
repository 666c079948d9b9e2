from prefect import flow, task


@task
def divide(a: int, b: int) -> float:
    return a / b


@flow
def ratios():
    print("computing")
    divide.submit(1, 0).result()
