"""Create the infrastructure blocks once: python create_blocks.py"""
from prefect.infrastructure import DockerContainer, Process

local = Process(env={"PYTHONUNBUFFERED": 1}, stream_output=True)
local.save("local", overwrite=True)

DockerContainer(image="acme/nightly:5", auto_remove=True).save("nightly-image", overwrite=True)
