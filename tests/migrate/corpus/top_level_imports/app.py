from prefect import Flow, flow, get_run_logger, task


@task(name="add-one", tags=["math"])
def add_one(x: int) -> int:
    return x + 1


@flow(name="counter")
def counter(start: int = 1) -> int:
    value = add_one(start)
    get_run_logger().info("counted to %d", value)
    print(f"counted to {value}")
    return value


def describe(f: Flow) -> str:
    return f.name
