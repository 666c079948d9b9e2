from prefect import flow, get_run_logger


@flow
def nightly(dry_run: bool = False):
    get_run_logger().info("dry run: %s", dry_run)
    print("nightly done" if not dry_run else "nightly dry run")
