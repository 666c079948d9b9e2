"""resolve_run for a stored deployment or run (no file): overrides, the job, errors on one
line; and a deployment resolves alike from its file and from what the store keeps of it."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from shipway.deployments import (
    RunRequest,
    deployment_spec,
    load_deployment_file,
    resolve_deployment,
    resolve_run,
)
from shipway.errors import ConfigError, ParameterError
from shipway.plugins import PluginPolicy, PluginRegistry, UnknownInfrastructureType

Write = Callable[[str, str], Path]


def stored(
    infrastructure: Mapping[str, Any], *overrides: Mapping[str, Any], **changes: Any
) -> RunRequest:
    values: dict[str, Any] = {
        "deployment_name": "nightly",
        "entrypoint": "flows/etl.py:main",
        "flow_name": "main",
        "working_dir": "/srv/project",
        "infrastructure": infrastructure,
        "overrides": overrides,
    }
    return RunRequest(**{**values, **changes})


def test_overrides_apply_in_order_and_the_run_keeps_its_id(
    registry: PluginRegistry, testing_module: types.ModuleType
) -> None:
    request = stored(
        {"type": "test-local", "env": {"A": "base", "B": "base"}, "labels": {"team": "data"}},
        {"env": {"B": "first"}, "grace_seconds": 1},
        {"env": {"A": None}, "grace_seconds": 2, "labels": {"team": None}},
        parameters={"day": "monday"},
        flow_run_id="run-7",
    )
    resolution = resolve_run(request, registry=registry)
    infrastructure = resolution.infrastructure
    assert type(infrastructure) is testing_module.LocalEcho
    assert infrastructure.env == {"A": None, "B": "first"}  # None: unset in the run
    assert infrastructure.labels == {}
    assert infrastructure.grace_seconds == 2  # type: ignore[attr-defined]
    job = resolution.job
    assert (job.flow_run_id, job.deployment_name, job.flow_name) == ("run-7", "nightly", "main")
    assert (job.entrypoint, job.working_dir) == ("flows/etl.py:main", "/srv/project")
    assert job.parameters == {"day": "monday"}


def test_without_a_run_id_each_resolution_gets_a_new_one(registry: PluginRegistry) -> None:
    request = stored({"type": "test-local"})
    first = resolve_run(request, registry=registry).job.flow_run_id
    assert first != resolve_run(request, registry=registry).job.flow_run_id


def test_an_instance_needs_no_plugin_lookup(testing_module: types.ModuleType) -> None:
    bare = PluginRegistry(PluginPolicy())  # knows no infrastructure type at all
    original = testing_module.LocalEcho(env={"A": "instance"})
    resolution = resolve_run(stored(original, {"env": {"B": "run"}}), registry=bare)
    assert type(resolution.infrastructure) is testing_module.LocalEcho
    assert resolution.infrastructure.env == {"A": "instance", "B": "run"}
    assert original.env == {"A": "instance"}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            stored({"type": "test-local", "bogus": 1}),
            "invalid test-local infrastructure for deployment 'nightly': "
            "bogus: Extra inputs are not permitted",
        ),
        (
            stored({"type": "test-local"}, {"grace_seconds": -1}),
            "--override does not fit the infrastructure: "
            "grace_seconds: Input should be greater than or equal to 0",
        ),
        (
            stored({"type": "test-local"}, {"type": "test-unstartable"}),
            "overrides cannot change the infrastructure type of deployment 'nightly' "
            "from 'test-local' to 'test-unstartable'",
        ),
        (stored({"image": "python"}), "deployment 'nightly' has no infrastructure type"),
    ],
    ids=["bad stored field", "bad override", "type changed", "no type"],
)
def test_errors_say_what_is_wrong_on_one_line(
    registry: PluginRegistry, request_: RunRequest, expected: str
) -> None:
    """They become a run's state message (a one-line column in `flow-run ls`)."""
    with pytest.raises(ConfigError) as caught:
        resolve_run(request_, registry=registry)
    assert caught.value.message == expected
    assert caught.value.location is None


def test_an_unknown_type_is_the_registrys_own_error(registry: PluginRegistry) -> None:
    with pytest.raises(UnknownInfrastructureType) as caught:
        resolve_run(stored({"type": "no-such-type"}), registry=registry)
    assert "Infrastructure blocks" not in caught.value.message  # no file, no blocks
    assert "test-local" in caught.value.message


def test_a_parameter_that_is_not_json_is_a_parameter_error(registry: PluginRegistry) -> None:
    request = stored({"type": "test-local"}, parameters={"when": {1, 2}})
    with pytest.raises(ParameterError, match="parameter 'when' cannot be handed"):
        resolve_run(request, registry=registry)


def test_the_store_resolves_a_deployment_as_its_file_does(
    write: Write, registry: PluginRegistry
) -> None:
    """`deployment apply` keeps the resolved infrastructure; a run of it (with
    `deployment run --override`) must come out as `shipway run --override` makes it."""
    path = write(
        "shipway.yaml",
        """
        infrastructure:
          quiet:
            type: test-local
            stream_output: false
            env: {LEVEL: block, SHARED: block}
        deployments:
          - name: etl
            flow: flows/etl.py:main
            parameters: {day: monday, times: 1}
            infrastructure: quiet
            overrides: {env: {SHARED: file}, labels: {team: data}}
        """,
    )
    source = load_deployment_file(path)
    deployment = source.get("etl")
    run_input: dict[str, Any] = {
        "parameters": {"times": 2},
        "overrides": {"env": {"CLI": "yes", "LEVEL": None}, "grace_seconds": 3},
    }

    from_file = resolve_deployment(source, deployment, registry=registry, **run_input)
    spec = deployment_spec(source, deployment, registry=registry)
    from_store = resolve_run(spec.run_request(**run_input), registry=registry)

    assert from_store.infrastructure == from_file.infrastructure
    assert from_store.infrastructure.env == {"LEVEL": None, "SHARED": "file", "CLI": "yes"}
    assert from_store.job.replace(flow_run_id="x") == from_file.job.replace(flow_run_id="x")
    assert from_store.job.parameters == {"day": "monday", "times": 2}
