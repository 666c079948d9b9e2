from prefect import flow


@flow
def weekly_report():
    print("weekly report")
