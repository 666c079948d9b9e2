from datetime import timedelta
from pathlib import Path

from prefect import flow, task
from prefect.logging import get_run_logger
from prefect.tasks import task_input_hash


@task(retries=3, retry_delay_seconds=[0.1, 0.2, 0.4])
def flaky_download(counter: str) -> str:
    path = Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt < 3:
        raise ConnectionError(f"attempt {attempt} failed")
    return f"downloaded on attempt {attempt}"


@task(cache_key_fn=task_input_hash, cache_expiration=timedelta(hours=1))
def parse(text: str) -> str:
    return text.upper()


@flow
def download(counter: str = "attempts.txt"):
    logger = get_run_logger()
    result = parse(flaky_download(counter))
    logger.warning("result: %s", result)
    print(result)
