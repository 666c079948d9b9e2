"""Storage selected by name like infrastructure: ``storage:`` blocks, a deployment's
``storage`` (block, type, mapping or instance), ``--override storage.X``, the job
hand-over, and the registry's rules for the second plugin kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from shipway import Deployment
from shipway.deployments import (
    RunRequest,
    deployment_spec,
    load_deployment_file,
    parse_override_args,
    resolve_deployment,
    resolve_run,
)
from shipway.errors import ConfigError
from shipway.plugins import (
    PluginBlockedError,
    PluginPolicy,
    PluginRegistry,
    UnknownStorageType,
    get_registry,
)
from shipway.storage import LocalFileSystem, Storage

Write = Callable[[str, str], Path]

FILE = """\
infrastructure:
  local: {type: test-local}
storage:
  shared:
    type: local-file-system
    basepath: /mnt/flows
deployments:
  - name: by-block
    flow: flows/hello.py:hello
    infrastructure: local
    storage: shared
  - name: by-type
    flow: flows/hello.py:hello
    infrastructure: local
    storage: {type: local-file-system, basepath: /srv/code}
  - name: none
    flow: flows/hello.py:hello
    infrastructure: local
"""


def test_a_block_a_mapping_or_no_storage(write: Write, registry: PluginRegistry) -> None:
    source = load_deployment_file(write("shipway.yaml", FILE))

    by_block = resolve_deployment(source, source.get("by-block"), registry=registry)
    by_type = resolve_deployment(source, source.get("by-type"), registry=registry)
    none = resolve_deployment(source, source.get("none"), registry=registry)

    assert by_block.storage == LocalFileSystem(basepath="/mnt/flows")
    assert by_type.storage == LocalFileSystem(basepath="/srv/code")
    assert none.storage is None and none.job.storage is None
    assert none.job.working_dir == str(source.directory.resolve())
    # The code is pulled where the run executes: no working_dir is handed over.
    assert by_block.job.working_dir is None
    assert by_block.job.storage == {"type": "local-file-system", "basepath": "/mnt/flows"}


def test_override_sets_a_storage_field(write: Write, registry: PluginRegistry) -> None:
    source = load_deployment_file(write("shipway.yaml", FILE))
    overrides = parse_override_args(["storage.basepath=/other", "env.A=1"])

    resolution = resolve_deployment(
        source, source.get("by-block"), overrides=overrides, registry=registry
    )

    assert resolution.storage == LocalFileSystem(basepath="/other")
    assert resolution.infrastructure.env == {"A": "1"}


def test_storage_errors_point_at_the_file(write: Write, registry: PluginRegistry) -> None:
    path = write(
        "shipway.yaml",
        "storage:\n  shared: {type: local-file-system, basepth: /x}\n"
        "deployments:\n  - name: a\n    flow: f.py:main\n    infrastructure: test-local\n"
        "    storage: shared\n  - name: b\n    flow: f.py:main\n"
        "    infrastructure: test-local\n    storage: sharde\n",
    )
    source = load_deployment_file(path)

    with pytest.raises(ConfigError) as invalid:
        resolve_deployment(source, source.get("a"), registry=registry)
    with pytest.raises(ConfigError) as unknown:
        resolve_deployment(source, source.get("b"), registry=registry)

    assert "shipway.yaml:2" in invalid.value.message and "basepth" in invalid.value.message
    assert "shipway.yaml:11: unknown storage 'sharde'." in unknown.value.message
    assert "Storage blocks defined in the file: shared." in unknown.value.message
    assert "local-file-system" in unknown.value.message


def test_overrides_cannot_set_storage_on_a_deployment_without_it(
    registry: PluginRegistry,
) -> None:
    request = RunRequest(
        deployment_name="d",
        entrypoint="f.py:main",
        flow_name="main",
        working_dir="/srv",
        infrastructure={"type": "test-local"},
        overrides=({"storage": {"basepath": "/x"}},),
    )
    with pytest.raises(ConfigError, match="deployment 'd' has no storage"):
        resolve_run(request, registry=registry)


def test_a_stored_deployment_keeps_storage_and_hands_over_the_ref(
    write: Write, registry: PluginRegistry
) -> None:
    source = load_deployment_file(write("shipway.yaml", FILE))
    spec = deployment_spec(source, source.get("by-block"), registry=registry)
    assert spec.storage == {"type": "local-file-system", "basepath": "/mnt/flows"}

    pushed = type(spec)(**{**spec.__dict__, "storage_ref": "abc123"})
    resolution = resolve_run(pushed.run_request(), registry=registry)

    assert resolution.job.storage_ref == "abc123"
    assert resolution.job.storage == spec.storage


def test_python_deployments_take_a_storage_instance() -> None:
    deployment = Deployment(
        name="py", flow="flows/a.py:main", storage=LocalFileSystem(basepath="/srv")
    )
    assert isinstance(deployment.storage, Storage)
    with pytest.raises(ValueError, match="storage type name"):
        Deployment(name="py", flow="flows/a.py:main", storage=3)


def test_unknown_storage_type_lists_installed_and_names_the_package() -> None:
    with pytest.raises(UnknownStorageType) as caught:
        get_registry().resolve_storage("git-repository-typo")
    assert "local-file-system" in caught.value.message
    assert "Installed storage types" in caught.value.message

    error = UnknownStorageType("git-repository", ["local-file-system"])
    assert "pip install shipway-git" in (error.hint or "")


def test_storage_plugins_can_be_blocked() -> None:
    registry = PluginRegistry(PluginPolicy(block=frozenset({"local-file-system"})))
    with pytest.raises(PluginBlockedError, match="storage 'local-file-system'"):
        registry.resolve_storage("local-file-system")


def test_storage_type_names_collide_like_infrastructure_ones() -> None:
    import types

    from shipway._markers import hookimpl

    class Other(LocalFileSystem):
        pass

    registry = PluginRegistry(PluginPolicy())
    registry.resolve_storage("local-file-system")
    plugin = types.ModuleType("acme_storage")

    @hookimpl
    def shipway_storage_types() -> list[type[Storage]]:
        return [Other]

    plugin.shipway_storage_types = shipway_storage_types  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="storage type 'local-file-system' is claimed"):
        registry.register(plugin, "acme")


def test_storage_is_listed_beside_infrastructure() -> None:
    rows = {(info.name, info.kind) for info in get_registry().list_plugins()}
    assert ("local-file-system", "storage") in rows


def test_hook_shipway_storage_types() -> None:
    """A plugin module registered in-process provides its storage class through the hook;
    something that is not a Storage subclass makes it fail to load."""
    import types

    from shipway._markers import hookimpl
    from shipway.plugins import PluginLoadError

    class Bucket(LocalFileSystem):
        type: Literal["acme-bucket"] = "acme-bucket"  # type: ignore[assignment]

    plugin = types.ModuleType("acme_bucket")

    @hookimpl
    def shipway_storage_types() -> list[type[Storage]]:
        return [Bucket]

    plugin.shipway_storage_types = shipway_storage_types  # type: ignore[attr-defined]
    registry = PluginRegistry(PluginPolicy())
    registry.register(plugin, "acme")
    assert registry.resolve_storage("acme-bucket") is Bucket
    assert registry.storage_types() == {"acme-bucket": Bucket}

    broken = types.ModuleType("broken_bucket")

    @hookimpl
    def shipway_storage_types_broken() -> list[object]:
        return [object]

    broken.shipway_storage_types = shipway_storage_types_broken  # type: ignore[attr-defined]
    with pytest.raises(PluginLoadError, match="not a Storage subclass"):
        PluginRegistry(PluginPolicy()).register(broken, "broken")


def test_the_hook_trace_masks_a_storage_block_s_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    from shipway._markers import hookimpl
    from shipway.jobs import Job
    from shipway.states import State, StateType

    monkeypatch.setenv("SHIPWAY_TRACE_HOOKS", "1")
    observer = types.ModuleType("observer")

    @hookimpl
    def shipway_flow_run_state_changed(job: Job, state: State) -> None:
        pass

    observer.shipway_flow_run_state_changed = shipway_flow_run_state_changed  # type: ignore[attr-defined]
    registry = PluginRegistry(PluginPolicy())
    registry.register(observer, "observer")
    job = Job(
        entrypoint="f.py:main",
        storage={"type": "remote-file-system", "settings": {"secret": "plain-s3-secret"}},
        storage_ref="abc",
    )

    registry.flow_run_state_changed(job, State(StateType.PENDING))

    traced = capsys.readouterr().err
    assert "hook shipway_flow_run_state_changed(job=Job(" in traced
    assert "plain-s3-secret" not in traced
