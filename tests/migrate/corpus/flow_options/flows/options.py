from prefect import flow


@flow(
    name="options-demo",
    description="Shows the options Prefect users pass",
    version="2.3",
    retries=2,
    retry_delay_seconds=0,
    timeout_seconds=60,
    log_prints=True,
    validate_parameters=False,
    persist_result=True,
)
def options_demo(count="3"):
    print(f"count is {count!r}")
