import asyncio

from prefect import flow, task


@task
async def fetch(n: int) -> int:
    await asyncio.sleep(0.01)
    return n * n


@flow
async def squares(limit: int = 4) -> list:
    return [await fetch(n) for n in range(limit)]


@flow
async def parent():
    values = await squares(limit=5)
    print(f"squares: {values}")
