from prefect import flow


@flow
def remove_old_files(days: int = 30):
    print(f"would remove files older than {days} days")
