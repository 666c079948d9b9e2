from shipway import flow


@flow
def hello_world(name: str = "world"):
    print(f"Hello {name}!")
