"""shipway.secrets: the name rule, the one masking function, and secret references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

import shipway.secrets
from shipway import SecretRef
from shipway.deployments import load_deployment_file, parse_override_args, resolve_infrastructure
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    Job,
    mask_secrets,
    resolve_secrets,
)
from shipway.plugins import PluginRegistry
from shipway.secrets import (
    MASK,
    Masker,
    SecretNotFound,
    dump_keeping_secrets,
    is_secret_name,
    mask,
    mask_url,
)


@pytest.fixture
def echo(registry: PluginRegistry) -> type[Infrastructure]:
    """The core tests' own infrastructure (``test-local``, see conftest)."""
    return registry.resolve("test-local")


# -- the name rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ENCRYPTION_KEY",
        "API_TOKEN",
        "DB_PASSWORD",
        "SMTP_PASS",
        "MYSQL_PASSWD",
        "CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SSH_PRIVATE_KEY",
        "BASIC_AUTH",
        "dbPassword",
        "apiKey",
        "APIKey",
        "x-auth-token",
        "SESSION_COOKIE",
        "GPG_PASSPHRASE",
        "API_KEYS",
        "apikey",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["AUTHOR", "MONKEY", "TOKENIZER_PATH", "BYPASS_CACHE", "PWD", "REGION", "KEYBOARD", "PATH"],
)
def test_names_that_only_contain_a_secret_word_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


# -- masking ---------------------------------------------------------------------------


def test_mask_hides_env_by_name_secret_fields_and_their_values_everywhere() -> None:
    data = {
        "env": {"ENCRYPTION_KEY": "k3y-v4lue", "REGION": "eu", "NOTE": "uses k3y-v4lue"},
        "image_registry": {"username": "robot", "password": SecretStr("pa55word")},
        "command": ["login", "--password", "pa55word"],
        "message": "connect to postgresql://etl:hunter2@db.internal:5432/etl failed",
        "overrides": {"env": {"RUN_TOKEN": "run-tok", "LEVEL": "debug"}},
    }

    shown = mask(data)

    assert shown == {
        "env": {"ENCRYPTION_KEY": MASK, "REGION": "eu", "NOTE": f"uses {MASK}"},
        "image_registry": {"username": "robot", "password": MASK},
        "command": ["login", "--password", MASK],
        "message": f"connect to postgresql://etl:{MASK}@db.internal:5432/etl failed",
        "overrides": {"env": {"RUN_TOKEN": MASK, "LEVEL": "debug"}},
    }
    assert data["env"]["ENCRYPTION_KEY"] == "k3y-v4lue"  # a copy; the original is intact


def test_references_and_value_from_sources_are_shown_as_they_are() -> None:
    data = {
        "env": {
            "DB_PASSWORD": {"secret": "db-password"},
            "TOKEN": {"secretKeyRef": {"name": "db", "key": "token"}},
        }
    }
    assert mask(data) == data


def test_container_env_lists_are_masked_by_name() -> None:
    manifest = {"env": [{"name": "API_TOKEN", "value": "abcdef"}, {"name": "A", "value": "b"}]}
    assert mask(manifest) == {
        "env": [{"name": "API_TOKEN", "value": MASK}, {"name": "A", "value": "b"}]
    }


def test_values_known_elsewhere_are_hidden_and_short_or_plain_words_are_not_searched() -> None:
    text = "user s3cr3t-value logged in: true (pin 123)"
    assert (
        mask(text, hide=["s3cr3t-value", "true", "123"]) == f"user {MASK} logged in: true (pin 123)"
    )


def test_a_secret_that_contains_another_is_masked_whole() -> None:
    masker = Masker(["abcd", "abcdefgh"])
    assert masker.text("abcdefgh abcd") == f"{MASK} {MASK}"


def test_url_passwords_are_masked_up_to_the_last_at_sign() -> None:
    assert mask_url("postgresql://u:p@ss@host/db and https://x.org/a@b") == (
        f"postgresql://u:{MASK}@host/db and https://x.org/a@b"
    )
    assert mask_url("redis://:only-password@cache:6379/0") == f"redis://:{MASK}@cache:6379/0"
    assert mask_url("https://user@host/path") == "https://user@host/path"


def test_output_lines_keep_bytes_that_are_not_utf8() -> None:
    masker = Masker(["hunter22"])
    assert masker.line(b"\xff pw=hunter22\n") == b"\xff pw=" + MASK.encode() + b"\n"


def test_mask_secrets_is_the_same_rule() -> None:
    assert mask_secrets({"ENCRYPTION_KEY": "x", "URL": "amqp://a:b@q", "GONE": None}) == {
        "ENCRYPTION_KEY": MASK,
        "URL": f"amqp://a:{MASK}@q",
        "GONE": None,
    }


class Registry(BaseModel):
    username: str
    password: SecretStr


class WithRegistry(BaseModel):
    registries: list[Registry]
    token: SecretStr | None = None


def test_dump_keeping_secrets_keeps_the_real_value() -> None:
    model = WithRegistry(registries=[{"username": "u", "password": "real-pw"}], token="t0k")
    dumped = dump_keeping_secrets(model)

    assert dumped == {
        "registries": [{"username": "u", "password": SecretStr("real-pw")}],
        "token": SecretStr("t0k"),
    }
    assert model.model_dump(mode="json")["registries"][0]["password"] == "**********"


def test_the_public_names_are_listed() -> None:
    assert all(getattr(shipway.secrets, name) is not None for name in shipway.secrets.__all__)


# -- references --------------------------------------------------------------------------

YAML = """\
deployments:
  - name: etl
    flow: flows/etl.py:etl
    infrastructure:
      type: test-local
      env:
        DB_PASSWORD: {secret: db-password}
        REGION: eu-west-1
"""


def test_references_from_a_file_python_and_overrides() -> None:
    assert SecretRef("db-password") == SecretRef.model_validate({"secret": "db-password"})
    assert parse_override_args(["env.X={secret: x}"]) == {"env": {"X": {"secret": "x"}}}
    assert parse_override_args(["env.X=not {secret: x}"]) == {"env": {"X": "not {secret: x}"}}


def test_a_file_reference_resolves_to_a_secret_ref(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    (tmp_path / "shipway.yaml").write_text(YAML)
    source = load_deployment_file(str(tmp_path / "shipway.yaml"))

    infrastructure = resolve_infrastructure(source.get("etl"), source, registry=registry)

    assert infrastructure.env == {"DB_PASSWORD": SecretRef("db-password"), "REGION": "eu-west-1"}
    assert infrastructure.model_dump(mode="json")["env"]["DB_PASSWORD"] == {"secret": "db-password"}


def test_a_reference_is_read_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echo: type[Infrastructure]
) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "db-password").write_text("from-file\n")
    monkeypatch.setenv("SHIPWAY_SECRETS_DIR", str(folder))
    process = echo(env={"DB_PASSWORD": SecretRef("db-password"), "API_TOKEN": "tok-1234"})

    assert resolve_secrets(process).infrastructure.env["DB_PASSWORD"] == "from-file"
    monkeypatch.setenv("SHIPWAY_SECRET_DB_PASSWORD", "from-env")
    resolved = resolve_secrets(process)
    assert resolved.infrastructure.env["DB_PASSWORD"] == "from-env"
    assert resolved.values == {"from-env", "tok-1234"}
    assert process.env["DB_PASSWORD"] == SecretRef("db-password")  # a copy was resolved


def test_the_secrets_folder_defaults_to_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_HOME", str(tmp_path))
    monkeypatch.delenv("SHIPWAY_SECRETS_DIR", raising=False)
    with pytest.raises(SecretNotFound) as caught:
        SecretRef("team.db/password").read()
    assert str(caught.value) == (
        "secret 'team.db/password' not found: set SHIPWAY_SECRET_TEAM_DB_PASSWORD or create "
        f"{tmp_path / 'secrets' / 'team.db' / 'password'}"
    )


def test_an_unreadable_secret_file_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SECRETS_DIR", str(tmp_path))
    (tmp_path / "db").mkdir()  # a folder where the file should be
    with pytest.raises(
        SecretNotFound, match=r"secret 'db' cannot be read from .*db: Is a directory"
    ):
        SecretRef("db").read()


@pytest.mark.parametrize(
    "name", ["", "../etc/passwd", "a b", "/abs", "a/b/c", ".hidden", "key", "KEY"]
)
def test_names_that_could_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        SecretRef(name)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"X": {"secret": "a b"}}, "is not a secret name"),
        ({"X": {"foo": "bar"}}, r"a secret reference \{secret: NAME\}"),
    ],
)
def test_a_bad_env_mapping_is_one_clear_error(
    env: dict[str, Any], message: str, echo: type[Infrastructure]
) -> None:
    with pytest.raises(ValidationError, match=message):
        echo(env=env)


def test_an_unresolved_reference_never_reaches_a_process_as_text(
    echo: type[Infrastructure],
) -> None:
    process = echo(env={"DB_PASSWORD": SecretRef("db-password")})
    with pytest.raises(InfrastructureError, match="is the secret reference"):
        process.job_environment(Job(entrypoint="f.py:f"))
