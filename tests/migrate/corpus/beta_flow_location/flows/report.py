from prefect import flow, get_run_logger


@flow(name="daily-report")
def daily_report(day: str = "today"):
    logger = get_run_logger()
    logger.info("building the report for %s", day)
    print(f"report for {day} is ready")
