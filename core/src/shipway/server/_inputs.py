"""What the API accepts, as pydantic models: they validate each request (a wrong field
is a 422 naming it) and give the OpenAPI schema its request bodies and query parameters,
so the schema and the checks cannot drift apart.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request

from shipway.log_lines import level_number
from shipway.server._errors import ApiError

__all__ = [
    "LogsQuery",
    "RunInput",
    "RunsQuery",
    "WorkQueueInput",
    "parse_body",
    "parse_query",
    "query_parameters",
    "read_json_object",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunInput(_Strict):
    """A new run of a deployment: what ``shipway deployment run`` takes."""

    parameters: dict[str, Any] = Field(
        default_factory=dict, description="The flow's parameters, over the deployment's."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Infrastructure fields for this run only, e.g. {\"env\": {\"A\": \"1\"}}.",
    )
    scheduled_time: AwareDatetime | None = Field(
        default=None, description="When it is due (ISO 8601 with a zone); default now."
    )


class RunsQuery(_Strict):
    """Filters and the page of ``GET /api/flow-runs``; newest first."""

    state: list[str] = Field(
        default_factory=list,
        description="Only runs in these states (repeat, or comma-separate: running,failed).",
    )
    deployment: str | None = Field(default=None, description="Only this deployment's runs.")
    work_queue: str | None = Field(default=None, description="Only this work queue's runs.")
    limit: int = Field(default=50, ge=1, le=500, description="Runs per page.")
    cursor: str | None = Field(
        default=None, description="The next_cursor of the previous page: the page after it."
    )


class LogsQuery(_Strict):
    after: int = Field(default=0, ge=0, description="Only lines with seq greater than this.")
    limit: int = Field(default=1000, ge=1, le=5000, description="At most this many lines.")
    level: str | None = Field(
        default=None,
        description="Only run logger records at this level or above (debug, info, warning, "
        "error, critical), as `shipway flow-run logs --level`; output lines are left out.",
    )

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        if value is not None:
            level_number(value)  # ValueError names the choices: a 422 on 'level'
        return value

    def min_level(self) -> int | None:
        return None if self.level is None else level_number(self.level)


class WorkQueueInput(_Strict):
    limit: int | None = Field(
        ge=0, description="At most this many runs at once; 0 pauses the queue, null: no limit."
    )


async def parse_body(request: Request, model: type[_Strict]) -> Any:
    """The JSON body as ``model`` (422 naming the field, or the body itself)."""
    return model.model_validate(await read_json_object(request))


async def read_json_object(request: Request) -> dict[str, Any]:
    """The JSON object the body holds (an empty body: ``{}``); else 422 on ``body``."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, f"body: not JSON ({exc})", field="body") from None
    if not isinstance(data, dict):
        raise ApiError(422, "body: must be a JSON object", field="body")
    return data


def parse_query(request: Request, model: type[_Strict]) -> Any:
    """The query string as ``model``; list fields take repeated parameters."""
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and typing.get_origin(field.annotation) is list
        data[key] = values if is_list else values[-1]
    return model.model_validate(data)  # a ValidationError: the app answers 422 naming the field


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """``model``'s fields as OpenAPI query parameters."""
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", []),
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k != "description"},
        }
        for name, prop in schema["properties"].items()
    ]

