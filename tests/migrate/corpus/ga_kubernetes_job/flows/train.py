from prefect import flow


@flow(name="train-model", retries=1)
def train(epochs: int = 3):
    print(f"training for {epochs} epochs")
