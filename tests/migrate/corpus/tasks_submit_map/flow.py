import time

from prefect import flow, task, unmapped
from prefect.task_runners import ConcurrentTaskRunner


@task
def wait_and_return(i: int) -> int:
    time.sleep(0.5)
    return i


@task
def scale(value: int, factor: int) -> int:
    return value * factor


@flow(task_runner=ConcurrentTaskRunner())
def fan_out():
    started = time.monotonic()
    futures = [wait_and_return.submit(i) for i in range(4)]
    total = sum(future.result() for future in futures)
    scaled = [f.result() for f in scale.map([1, 2, 3], unmapped(10))]
    print(f"total={total} scaled={scaled} parallel={time.monotonic() - started < 1.5}")
