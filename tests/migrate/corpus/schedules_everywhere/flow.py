from prefect import flow


@flow
def heartbeat():
    print("still alive")
