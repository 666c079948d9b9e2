"""Secrets in the store: a stored deployment keeps its real secret values (a run gets them
back), never in clear on disk, and a machine without the key says which value it cannot
read instead of running with a wrong one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from shipway.deployments import deployment_spec, load_deployment_file, resolve_run
from shipway.secrets import UnreadableSecret, mask
from shipway.store import Store, open_store

REGISTRY_PASSWORD = "registry-pw-7f3a9c"
API_TOKEN = "api-token-51b2e8"
RUN_TOKEN = "run-token-c04d1f"

DOCKER_PROJECT = f"""\
deployments:
  - name: private
    flow: flows/hello.py:hello
    infrastructure:
      type: docker-container
      image: registry.example.com/team/flows:1
      image_registry: {{username: robot, password: {REGISTRY_PASSWORD}}}
      env: {{API_TOKEN: {API_TOKEN}, REGION: eu-west-1, DB_PASSWORD: {{secret: db-password}}}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "hello.py").write_text(
        "from shipway import flow\n\n@flow\ndef hello() -> None:\n    print('hi')\n"
    )
    (root / "shipway.yaml").write_text(DOCKER_PROJECT)
    return root


def _apply(store: Store, project: Path) -> None:
    source = load_deployment_file(str(project / "shipway.yaml"))
    store.apply_deployment(deployment_spec(source, source.get("private")))


def _raw_rows(store_url: str) -> str:
    """Everything the database holds about deployments and runs, as text."""
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            rows = [
                *connection.execute(sa.text("SELECT * FROM deployments")),
                *connection.execute(sa.text("SELECT * FROM flow_runs")),
            ]
    finally:
        engine.dispose()
    return "\n".join(repr(tuple(row)) for row in rows)


def test_a_stored_deployment_gives_runs_the_real_registry_password(
    store: Store, project: Path, shipway_home: Path
) -> None:
    _apply(store, project)
    run = store.create_flow_run("private")

    infrastructure = resolve_run(store.get_flow_run(run.id).run_request()).infrastructure

    registry = infrastructure.image_registry  # type: ignore[attr-defined]
    assert registry.password.get_secret_value() == REGISTRY_PASSWORD
    assert infrastructure.env["API_TOKEN"] == API_TOKEN
    assert infrastructure.env["REGION"] == "eu-west-1"


def test_secrets_are_encrypted_at_rest_and_references_kept_as_names(
    store: Store, store_url: str, project: Path, shipway_home: Path
) -> None:
    _apply(store, project)
    store.create_flow_run("private", overrides={"env": {"RUN_TOKEN": RUN_TOKEN}})

    raw = _raw_rows(store_url)

    for secret in (REGISTRY_PASSWORD, API_TOKEN, RUN_TOKEN):
        assert secret not in raw
    assert "eu-west-1" in raw  # only secrets are encrypted
    assert '"DB_PASSWORD": {"secret": "db-password"}' in raw  # a name, read at run start


def test_the_key_file_is_made_once_readable_by_its_owner_only(
    store: Store, project: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWAY_SECRET_KEY")
    _apply(store, project)
    key_file = shipway_home / "secret.key"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(shipway_home.stat().st_mode) == 0o700
    key = key_file.read_bytes()
    store.create_flow_run("private", overrides={"env": {"RUN_TOKEN": RUN_TOKEN}})
    assert key_file.read_bytes() == key


def test_applying_the_same_secrets_again_is_unchanged(
    store: Store, project: Path, shipway_home: Path
) -> None:
    source = load_deployment_file(str(project / "shipway.yaml"))
    spec = deployment_spec(source, source.get("private"))
    assert store.apply_deployment(spec)[1] == "created"
    assert store.apply_deployment(spec)[1] == "unchanged"
    (project / "shipway.yaml").write_text(DOCKER_PROJECT.replace(API_TOKEN, "another-token"))
    source = load_deployment_file(str(project / "shipway.yaml"))
    assert store.apply_deployment(deployment_spec(source, source.get("private")))[1] == "updated"


def test_a_secret_key_from_the_environment_is_used(
    store: Store, project: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(store, project)  # the suite's SHIPWAY_SECRET_KEY (see conftest)
    run = store.create_flow_run("private")

    assert not (shipway_home / "secret.key").exists()
    infrastructure = resolve_run(store.get_flow_run(run.id).run_request()).infrastructure
    assert infrastructure.env["API_TOKEN"] == API_TOKEN


def test_another_key_names_the_value_it_cannot_decrypt(
    store: Store, project: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    _apply(store, project)
    run = store.create_flow_run("private")
    monkeypatch.setenv("SHIPWAY_SECRET_KEY", Fernet.generate_key().decode())

    with pytest.raises(UnreadableSecret) as caught:
        resolve_run(store.get_flow_run(run.id).run_request())

    message = str(caught.value)
    assert "cannot decrypt" in message and "of flow run" in message
    assert "env.API_TOKEN" in message or "image_registry.password" in message
    assert "SHIPWAY_SECRET_KEY" in message
    # Listing and showing need no key: the values are masked where they stand.
    shown = mask(store.get_flow_run(run.id).infrastructure)
    assert shown["env"]["API_TOKEN"] == "********"


def test_no_key_at_all_is_one_message_and_creates_nothing(
    store: Store, project: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPWAY_SECRET_KEY")
    _apply(store, project)
    (shipway_home / "secret.key").unlink()

    with pytest.raises(UnreadableSecret, match="no secret key here"):
        resolve_run(store.get_deployment("private").run_request())
    assert not (shipway_home / "secret.key").exists()


def test_a_key_that_is_not_a_key_is_one_message(
    store: Store, project: Path, shipway_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipway.errors import ShipwayError

    monkeypatch.setenv("SHIPWAY_SECRET_KEY", "not-a-key")
    with pytest.raises(ShipwayError, match="SHIPWAY_SECRET_KEY is not a key"):
        _apply(store, project)


def test_the_sqlite_store_and_its_folder_are_private(shipway_home: Path) -> None:
    with open_store() as store:
        assert store.url.endswith("shipway.db")
    assert stat.S_IMODE(shipway_home.stat().st_mode) == 0o700
    for name in ("shipway.db", "shipway.db.lock"):
        assert stat.S_IMODE((shipway_home / name).stat().st_mode) == 0o600, name


def test_stored_secret_values_compare_as_their_plain_values(
    store: Store, project: Path, shipway_home: Path
) -> None:
    _apply(store, project)
    stored = store.get_deployment("private").infrastructure
    assert stored["env"]["API_TOKEN"] == API_TOKEN
    assert stored["image_registry"]["password"] == SecretStr(REGISTRY_PASSWORD)
    assert "**" in repr(stored["env"]["API_TOKEN"]) and API_TOKEN not in repr(stored)
