"""Conformance checks on the class itself: found through its entry point, listed as
loaded, a documented schema, unknown fields refused."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shipway.infrastructure import Infrastructure
from shipway.plugins import (
    INFRASTRUCTURE_GROUP,
    PluginPolicy,
    PluginRegistry,
    PluginStatus,
    find_plugin_sources,
)
from shipway.testing._suite import ConformanceBase

__all__ = ["ConfigurationChecks"]


class ConfigurationChecks(ConformanceBase):
    """Discovery and configuration: what holds before anything runs."""

    def test_type_is_discovered_through_its_entry_point(
        self, infrastructure: Infrastructure
    ) -> None:
        cls = type(infrastructure)
        type_name = cls.type_name()
        assert infrastructure.type == type_name, (
            f"the instance's type {infrastructure.type!r} differs from the class's default "
            f"{type_name!r}"
        )
        sources = find_plugin_sources(INFRASTRUCTURE_GROUP, type_name)
        assert sources, (
            f"no entry point named {type_name!r} in the group {INFRASTRUCTURE_GROUP!r}. "
            "Declare it in pyproject.toml and install the plugin (pip install -e .):\n"
            f'    [project.entry-points."{INFRASTRUCTURE_GROUP}"]\n'
            f'    {type_name} = "{cls.__module__.split(".")[0]}.plugin"'
            "   # the module with your @hookimpl functions"
        )
        claimants = {f"{s.distribution} {s.version}" for s in sources}
        assert len(claimants) == 1, f"{type_name!r} is claimed by {sorted(claimants)}"
        resolved = PluginRegistry(PluginPolicy()).resolve(type_name)
        assert resolved is cls, (
            f"a fresh registry resolves {type_name!r} to {resolved.__module__}."
            f"{resolved.__qualname__}, not to {cls.__module__}.{cls.__qualname__}"
        )

    def test_plugin_is_listed_as_loaded(self, infrastructure: Infrastructure) -> None:
        type_name = type(infrastructure).type_name()
        rows = [
            info
            for info in PluginRegistry(PluginPolicy()).list_plugins()
            if info.name == type_name and info.kind == "infrastructure"
        ]
        assert rows, f"`shipway plugins` does not list {type_name!r}"
        for row in rows:
            assert row.status is PluginStatus.LOADED, f"`shipway plugins` shows {row}"
            assert "shipway_infrastructure_types" in row.hooks

    def test_schema_is_valid_and_every_field_is_documented(
        self, infrastructure: Infrastructure
    ) -> None:
        cls = type(infrastructure)
        schema = cls.model_json_schema()
        json.dumps(schema)  # JSON through and through, for `shipway infra schema`
        properties = schema.get("properties", {})
        assert properties.get("type", {}).get("default") == cls.type_name(), properties.get("type")
        own_fields = set(cls.model_fields) - set(Infrastructure.model_fields)
        undocumented = sorted(
            name for name in own_fields if not (cls.model_fields[name].description or "").strip()
        )
        assert not undocumented, (
            f"fields without a description: {', '.join(undocumented)}. "
            "Declare them with Field(description=...) so `shipway infra schema` explains them."
        )
        for name in own_fields:
            key = cls.model_fields[name].alias or name
            assert key in properties, f"field {name!r} is missing from the JSON schema"

    def test_unknown_fields_are_rejected(self, infrastructure: Infrastructure) -> None:
        cls = type(infrastructure)
        data = {**infrastructure.model_dump(), "not_a_real_field": 1}
        try:
            cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
        else:
            pytest.fail(
                f"{cls.__name__} accepted an unknown field: keep the base class's "
                "model_config extra='forbid', so a typo in a config file is an error",
                pytrace=False,
            )
        assert any(
            e["type"] == "extra_forbidden" and e["loc"] == ("not_a_real_field",) for e in errors
        ), f"the unknown field was not what failed validation: {errors}"
