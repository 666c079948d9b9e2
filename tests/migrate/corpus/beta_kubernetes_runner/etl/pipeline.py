from prefect import flow, task


@task
def extract():
    return [3, 1, 2]


@task
def load(rows):
    print(f"loaded {sorted(rows)}")


@flow
def pipeline():
    load(extract())
