from prefect import flow, task


@task(retries=2, retry_delay_seconds=1)
def fetch_temperature(city: str) -> float:
    return {"Berlin": 21.5, "Oslo": 12.0}[city]


@flow(log_prints=True)
def weather(city: str = "Berlin"):
    temperature = fetch_temperature(city)
    print(f"{city}: {temperature} C")
