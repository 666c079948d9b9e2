"""The DockerContainer model: fields, validation, names, identifiers and the preview.

No engine needed: these check what the plugin makes of its configuration.
"""

from __future__ import annotations

import io
import shlex
import sys
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

import shipway
from shipway.infrastructure import InfrastructureError, Job
from shipway_docker import DockerContainer
from shipway_docker._fields import (
    container_name,
    image_tag,
    infer_pull_policy,
    memory_bytes,
    run_container_name,
)
from shipway_docker._identifier import parse_identifier

RUN_ID = "3f2b9c1e-7d4a-4b8e-9c6f-0a1b2c3d4e5f"


def job(**changes: object) -> Job:
    fields: dict[str, object] = {
        "entrypoint": "flows/hello.py:hello_world",
        "parameters": {"name": "docker"},
        "flow_run_id": RUN_ID,
        "deployment_name": "example",
        "working_dir": "/srv/project",
    }
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]


def test_importable_from_the_core_through_the_registry() -> None:
    from shipway.infrastructure import DockerContainer as resolved

    assert resolved is DockerContainer
    assert DockerContainer.type_name() == "docker-container"


def test_defaults() -> None:
    container = DockerContainer()

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert container.image == f"shipway-runtime:{shipway.__version__}-python{version}"
    assert container.image_pull_policy is None
    assert container.pull_policy == "never"  # built locally, published nowhere
    assert container.stream_output is True
    assert container.auto_remove is False
    assert container.docker_host is None
    assert container.networks == [] and container.volumes == []


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("always", "always"),
        ("Always", "always"),
        ("ALWAYS", "always"),
        ("if_not_present", "if_not_present"),
        ("IfNotPresent", "if_not_present"),
        ("if-not-present", "if_not_present"),
        ("IF_NOT_PRESENT", "if_not_present"),
        ("missing", "if_not_present"),
        ("never", "never"),
        ("Never", "never"),
    ],
)
def test_pull_policy_spellings_are_stored_normalised(given: str, stored: str) -> None:
    container = DockerContainer(image_pull_policy=given)  # type: ignore[arg-type]

    assert container.image_pull_policy == stored
    assert container.pull_policy == stored
    assert container.model_dump()["image_pull_policy"] == stored


def test_unknown_pull_policy_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        DockerContainer(image_pull_policy="sometimes")  # type: ignore[arg-type]

    assert "image_pull_policy" in str(caught.value)
    assert "always, if_not_present or never" in str(caught.value)


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("flows", "always"),
        ("flows:latest", "always"),
        ("team/flows:latest", "always"),
        ("registry.example.com:5000/team/flows", "always"),
        ("flows:1.2", "if_not_present"),
        ("registry.example.com:5000/team/flows:1.2", "if_not_present"),
        ("flows@sha256:" + "a" * 64, "if_not_present"),
        ("flows:latest@sha256:" + "a" * 64, "always"),
    ],
)
def test_pull_policy_is_inferred_from_the_tag_like_kubernetes(image: str, policy: str) -> None:
    assert infer_pull_policy(image) == policy
    assert DockerContainer(image=image).pull_policy == policy


def test_an_explicit_policy_wins_over_the_inferred_one() -> None:
    assert DockerContainer(image="flows:latest", image_pull_policy="never").pull_policy == "never"


def test_image_tag_does_not_mistake_a_registry_port_for_a_tag() -> None:
    repository = "registry.example.com:5000/app"
    assert image_tag(repository) == (repository, None, None)
    assert image_tag(f"{repository}:2") == (repository, "2", None)


@pytest.mark.parametrize(
    "volume",
    [
        "/srv/data:/data",
        "/srv/data:/data:ro",
        "./data:/data:rw",
        "../shared:/shared:ro,z",
        "~/cache:/root/.cache",
        "flow-cache:/cache",
        "flow-cache:/cache:nocopy",
    ],
)
def test_valid_volumes(volume: str) -> None:
    assert DockerContainer(volumes=[volume]).volumes == [volume]


@pytest.mark.parametrize(
    ("volume", "complaint"),
    [
        ("/srv/data", "host:container"),
        ("/srv/data:", "host:container"),
        ("/a:/b:ro:extra", "host:container"),
        ("/srv/data:data", "must be absolute"),
        ("data/sub:/data", "neither a path nor a volume name"),
        ("/srv/data:/data:readonly", "unknown mode 'readonly'"),
        ("/srv/data:/data:ro,rw", "contradict"),
    ],
)
def test_invalid_volumes_say_what_is_wrong(volume: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DockerContainer(volumes=[volume])

    assert complaint in str(caught.value)
    assert "volumes" in str(caught.value)


def test_relative_and_home_volumes_are_made_absolute_for_the_run() -> None:
    container = DockerContainer(volumes=["./data:/data:ro", "../up:/up", "~/c:/c", "vol:/v"])

    binds = container.container_spec(job(working_dir="/srv/project")).binds

    home = str(Path("~").expanduser())
    assert binds == ["/srv/project/data:/data:ro", "/srv/up:/up", f"{home}/c:/c", "vol:/v"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("256m", 256 * 1024**2),
        ("256M", 256 * 1024**2),
        ("256MB", 256 * 1024**2),
        ("256MiB", 256 * 1024**2),
        ("1.5g", int(1.5 * 1024**3)),
        ("512k", 512 * 1024),
        ("1024", 1024),
        ("100b", 100),
        (67108864, 67108864),
    ],
)
def test_memory_sizes(value: str | int, expected: int) -> None:
    assert memory_bytes(value) == expected
    assert DockerContainer(mem_limit=value).mem_limit == value


@pytest.mark.parametrize("value", ["lots", "12q", "-5m", "", 0, "0m"])
def test_bad_memory_limits_are_rejected(value: str | int) -> None:
    with pytest.raises(ValidationError) as caught:
        DockerContainer(mem_limit=value)

    assert "mem_limit" in str(caught.value)


def test_memswap_rules() -> None:
    assert DockerContainer(mem_limit="64m", memswap_limit="64m").memswap_limit == "64m"
    assert DockerContainer(mem_limit="64m", memswap_limit=-1).memswap_limit == -1
    with pytest.raises(ValidationError, match="memswap_limit needs mem_limit"):
        DockerContainer(memswap_limit="64m")
    with pytest.raises(ValidationError, match="cannot be less than mem_limit"):
        DockerContainer(mem_limit="128m", memswap_limit="64m")


def test_networks_and_network_mode_exclude_each_other() -> None:
    assert DockerContainer(network_mode="host").network_mode == "host"
    with pytest.raises(ValidationError, match="exclude each other"):
        DockerContainer(networks=["backend"], network_mode="host")


def test_unknown_fields_and_empty_image_are_errors() -> None:
    with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
        DockerContainer(imag="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="image must name an image"):
        DockerContainer(image=" ")


def test_the_registry_password_is_a_secret() -> None:
    container = DockerContainer(
        image_registry={"username": "robot", "password": "hunter2", "registry_url": "reg.example"}
    )

    assert container.image_registry is not None
    assert "hunter2" not in repr(container)
    assert "hunter2" not in container.model_dump_json()
    assert container.image_registry.auth_config() == {
        "username": "robot",
        "password": "hunter2",
        "serveraddress": "reg.example",
    }


# -- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hello_world", "hello_world"),
        ("Nightly ETL / EU", "Nightly-ETL-EU"),
        ("-leading.dots", "leading.dots"),
        ("émoji ✨ flow", "moji-flow"),
        ("x", "shipway-x"),
        ("???", "shipway"),
        ("a" * 100, "a" * 63),
    ],
)
def test_container_names_follow_dockers_rules(text: str, name: str) -> None:
    assert container_name(text) == name


def test_the_default_name_is_the_flow_and_the_short_run_id() -> None:
    assert run_container_name(None, "hello_world", RUN_ID) == "hello_world-3f2b9c1e"
    assert run_container_name("nightly etl", "hello_world", RUN_ID) == "nightly-etl"
    long = run_container_name(None, "f" * 80, RUN_ID)
    assert long.endswith("-3f2b9c1e") and len(long) <= 63


# -- identifiers ----------------------------------------------------------------------


def test_identifiers_split_at_the_last_colon() -> None:
    engine = "I42N:T4HJ:GG3V:RIJR:LRK5:KSEB:OROA:3TTJ:53GV:6UAZ:4ML4:7DMH"
    container = "5e15624f583c" * 5 + "abcd"

    assert parse_identifier(f"{engine}:{container}") == (engine, container)


@pytest.mark.parametrize(
    "identifier", ["", "abc", "engine:", ":" + "a" * 64, "engine:XYZ123456789"]
)
def test_malformed_identifiers(identifier: str) -> None:
    with pytest.raises(InfrastructureError, match="not a Docker container identifier"):
        parse_identifier(identifier)


# -- the container spec and the preview -------------------------------------------------


def test_spec_labels_env_and_command() -> None:
    container = DockerContainer(
        env={"LOG_LEVEL": "debug", "DROPPED": None},
        labels={"team": "data", "io.shipway.flow": "not-mine"},
    )

    spec = container.container_spec(job())

    assert spec.name == "hello_world-3f2b9c1e"
    assert spec.command == ["python", "-m", "shipway.engine"]
    assert spec.labels == {
        "team": "data",
        "io.shipway.flow-run-id": RUN_ID,
        "io.shipway.flow": "hello_world",  # the run's own labels win
        "io.shipway.deployment": "example",
    }
    assert spec.environment["LOG_LEVEL"] == "debug"
    assert "DROPPED" not in spec.environment
    # The engine in the container resolves the entrypoint in the image's working directory.
    handed_over = Job.from_json(spec.environment["SHIPWAY_FLOW_RUN"])
    assert handed_over.working_dir is None
    assert handed_over.parameters == {"name": "docker"}
    assert spec.extra_hosts == {"host.docker.internal": "host-gateway"}


def test_a_large_job_is_copied_into_the_container_instead_of_the_environment() -> None:
    large = job(parameters={"blob": "x" * 1024 * 1024})

    spec = DockerContainer().container_spec(large)

    assert "SHIPWAY_FLOW_RUN" not in spec.environment
    assert spec.environment["SHIPWAY_FLOW_RUN_FILE"] == "/.shipway-flow-run.json"
    assert spec.job_file is not None
    assert Job.from_json(spec.job_file.decode()) == large.replace(working_dir=None)
    with tarfile.open(fileobj=io.BytesIO(spec.job_archive())) as archive:
        [member] = archive.getmembers()
        assert member.name == ".shipway-flow-run.json" and member.mode == 0o444
        extracted = archive.extractfile(member)
        assert extracted is not None and extracted.read() == spec.job_file
    preview = DockerContainer().preview(large)
    assert "-e SHIPWAY_FLOW_RUN_FILE=/.shipway-flow-run.json" in preview
    assert "xxxx" not in preview
    assert preview.endswith("copied into the container as /.shipway-flow-run.json before it starts")


def test_a_small_job_has_no_job_file() -> None:
    assert DockerContainer().container_spec(job()).job_file is None


def test_no_host_alias_when_sharing_another_containers_network() -> None:
    spec = DockerContainer(network_mode="container:db").container_spec(job())
    assert spec.extra_hosts == {}


def test_preview_is_an_equivalent_docker_run_with_secrets_masked() -> None:
    container = DockerContainer(
        image="registry.example.com/flows:2",
        image_pull_policy="Always",
        image_registry={"username": "robot", "password": "hunter2"},
        env={"API_TOKEN": "s3cret", "LOG_LEVEL": "debug"},
        labels={"team": "data"},
        volumes=["./data:/data:ro"],
        networks=["backend", "metrics"],
        mem_limit="512m",
        memswap_limit="1g",
        privileged=True,
        auto_remove=True,
        docker_host="tcp://build-01:2376",
    )

    preview = container.preview(job())
    words = shlex.split(preview.replace("\\\n", " "))

    assert "hunter2" not in preview and "robot" not in preview
    assert "s3cret" not in preview
    assert words[:4] == ["docker", "-H", "tcp://build-01:2376", "run"]
    for option in (
        ["--rm"],
        ["--pull", "always"],
        ["--name", "hello_world-3f2b9c1e"],
        ["--label", "team=data"],
        ["--label", f"io.shipway.flow-run-id={RUN_ID}"],
        ["-e", "API_TOKEN=********"],
        ["-e", "LOG_LEVEL=debug"],
        ["-v", "/srv/project/data:/data:ro"],
        ["--network", "backend"],
        ["--network", "metrics"],
        ["--memory", "512m"],
        ["--memory-swap", "1g"],
        ["--privileged"],
        ["--add-host", "host.docker.internal:host-gateway"],
    ):
        assert any(words[i : i + len(option)] == option for i in range(len(words))), option
    assert words[-4:] == ["registry.example.com/flows:2", "python", "-m", "shipway.engine"]
    handover = next(w for w in words if w.startswith("SHIPWAY_FLOW_RUN="))
    assert Job.from_json(handover.partition("=")[2]).flow_run_id == RUN_ID


def test_preview_without_a_job_shows_a_placeholder_run() -> None:
    preview = DockerContainer(image="flows:1").preview()

    assert preview.startswith("docker run \\\n")
    assert "--pull missing" in preview
    assert "flow-run-id" in preview


def test_a_custom_command_replaces_the_engine_command() -> None:
    preview = DockerContainer(command=["/opt/venv/bin/python", "-m", "shipway.engine"]).preview()
    assert preview.endswith("/opt/venv/bin/python -m shipway.engine")


def test_preview_masks_every_name_the_docs_promise_and_url_passwords() -> None:
    container = DockerContainer(
        env={
            "ENCRYPTION_KEY": "k3y-value-1",
            "MYSQL_PASSWD": "passwd-value-2",
            "DATABASE_URL": "postgresql://etl:url-pw-3@db/etl",
            "AUTHOR": "data team",
        }
    )

    preview = container.preview(job())

    for secret in ("k3y-value-1", "passwd-value-2", "url-pw-3"):
        assert secret not in preview
    assert "'ENCRYPTION_KEY=********'" in preview
    assert "'DATABASE_URL=postgresql://etl:********@db/etl'" in preview
    assert "'AUTHOR=data team'" in preview
