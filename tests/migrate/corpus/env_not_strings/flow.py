import os

from prefect import flow


@flow
def show_env():
    print("PORT=" + os.environ["PORT"], "DEBUG=" + os.environ["DEBUG"], "RATIO=" + os.environ["RATIO"])
