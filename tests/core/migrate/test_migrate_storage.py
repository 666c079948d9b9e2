"""`shipway migrate` turns Prefect 2 storage blocks into notes holding the shipway
``storage:`` block, and says where each credential must move (never its value)."""

from __future__ import annotations

import json
import re

import pytest

from shipway.migrate._storage import storage_notes

SOURCE = """
from prefect.deployments import Deployment
from prefect.filesystems import S3, GCS, RemoteFileSystem, LocalFileSystem, GitHub as Hub
from flows import etl

Deployment.build_from_flow(etl, name="a", storage=S3(
    bucket_path="acme/etl", aws_access_key_id="AKIAOLD", aws_secret_access_key="very-secret"))
Deployment.build_from_flow(etl, name="b", storage=RemoteFileSystem(
    basepath="sftp://files/flows", settings={"username": "u", "password": "pw-secret"}))
Deployment.build_from_flow(etl, name="c", storage=Hub(
    repository="https://github.com/acme/flows.git", reference="v2", access_token="ghp-secret"))
Deployment.build_from_flow(etl, name="d", storage=LocalFileSystem(basepath="/mnt/flows"))
Deployment.build_from_flow(etl, name="e", storage=GCS(bucket_path="b/p", project="acme"))
Deployment.build_from_flow(etl, name="f", storage=S3.load("prod"))
COMMAND = "prefect deployment build flows/etl.py:etl -n etl -sb github/flows-repo"
"""


def _block(message: str) -> dict[str, object]:
    found = re.search(r"`storage: \{code: (\{.*?\})\}`", message)
    assert found, message
    block: dict[str, object] = json.loads(found.group(1))
    return block


def test_each_storage_block_becomes_a_shipway_block() -> None:
    notes = {note.line: note.message for note in storage_notes(SOURCE)}

    assert _block(notes[6]) == {"type": "remote-file-system", "basepath": "s3://acme/etl"}
    assert _block(notes[8]) == {
        "type": "remote-file-system",
        "basepath": "sftp://files/flows",
        "settings": {"username": "u"},
    }
    assert _block(notes[10]) == {
        "type": "git-repository",
        "url": "https://github.com/acme/flows.git",
        "ref": "v2",
        "credentials_env": "GITHUB_TOKEN",
    }
    assert _block(notes[12]) == {"type": "local-file-system", "basepath": "/mnt/flows"}
    assert _block(notes[13])["settings"] == {"project": "acme"}
    assert "names the Prefect storage block 'prod'" in notes[14]
    assert "`-sb github/flows-repo`" in notes[15] and "git-repository" in notes[15]


def test_credentials_are_moved_never_shown() -> None:
    text = "\n".join(note.message for note in storage_notes(SOURCE))

    assert "AWS_SECRET_ACCESS_KEY environment variable" in text
    assert "settings.password -> an environment variable" in text
    assert "access_token -> an environment variable named by credentials_env" in text
    for secret in ("AKIAOLD", "very-secret", "pw-secret", "ghp-secret"):
        assert secret not in text


def test_migrate_source_reports_them_with_the_other_notes() -> None:
    pytest.importorskip("libcst")
    from shipway.migrate import migrate_source

    lines = [note.line for note in migrate_source(SOURCE).notes]

    assert {6, 8, 10, 12, 13, 14, 15} <= set(lines)
    assert lines == sorted(lines)


def test_code_without_prefect_storage_gets_no_note() -> None:
    assert storage_notes("from shipway import Deployment\nS3 = 1\nS3(bucket_path='x')\n") == []
    assert storage_notes("def broken(:\n") == []
