from prefect import flow


@flow
def nightly_backup(target: str = "backups"):
    print(f"backed up to {target}")
