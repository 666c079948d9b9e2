"""Print what arrived: the parameters and one environment variable, as one JSON line."""

from __future__ import annotations

import json
import os
from typing import Any

from shipway import flow

MARKER = "shipway-echo:"


@flow
def echo(
    message: str,
    count: int = 0,
    items: list[Any] | None = None,
    variable: str = "SHIPWAY_CONFORMANCE_VALUE",
) -> None:
    arrived = {
        "message": message,
        "count": count,
        "items": items,
        "variable": variable,
        "value": os.environ.get(variable),
    }
    print(MARKER, json.dumps(arrived, sort_keys=True), flush=True)
