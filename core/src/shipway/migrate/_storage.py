"""Prefect 2 storage blocks to shipway ``storage:`` blocks, as notes.

``Deployment(storage=S3(bucket_path=...))``, ``RemoteFileSystem(basepath=...)``,
``GitHub(repository=...)`` and the other Prefect 2 storage blocks, block loads
(``S3.load("prod")``) and ``-sb s3/prod`` in command lines become a note with the
``storage:`` block to put in shipway.yaml, and where each credential must move (an
environment variable, a secret reference): a storage block keeps no credential in clear.
The code is left as it is; read with the standard library's ``ast``, so the notes need
no libcst.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator

from shipway.migrate._notes import Note

__all__ = ["storage_notes"]


@dataclasses.dataclass(frozen=True)
class _Kind:
    """One Prefect storage block class and its shipway counterpart."""

    shipway_type: str
    location_field: str  # Prefect's keyword holding where the code is
    url_prefix: str  # put before the location (s3://), or "" when it is a URL or path
    distribution: str
    credentials: dict[str, str]  # Prefect keyword -> where it must move
    settings: tuple[str, ...] = ()  # Prefect keywords kept as fsspec settings


_KINDS: dict[str, _Kind] = {
    "S3": _Kind(
        "remote-file-system",
        "bucket_path",
        "s3://",
        "shipway-fsspec[s3]",
        {
            "aws_access_key_id": "the AWS_ACCESS_KEY_ID environment variable",
            "aws_secret_access_key": "the AWS_SECRET_ACCESS_KEY environment variable",
        },
    ),
    "GCS": _Kind(
        "remote-file-system",
        "bucket_path",
        "gs://",
        "shipway-fsspec[gcs]",
        {"service_account_info": "a key file named by GOOGLE_APPLICATION_CREDENTIALS"},
        settings=("project",),
    ),
    "Azure": _Kind(
        "remote-file-system",
        "bucket_path",
        "az://",
        "shipway-fsspec[azure]",
        {
            "azure_storage_connection_string": "AZURE_STORAGE_CONNECTION_STRING",
            "azure_storage_account_key": "AZURE_STORAGE_ACCOUNT_KEY",
            "azure_storage_client_secret": "AZURE_CLIENT_SECRET",
        },
        settings=("azure_storage_account_name",),
    ),
    "RemoteFileSystem": _Kind(
        "remote-file-system", "basepath", "", "shipway-fsspec", {}, settings=("settings",)
    ),
    "LocalFileSystem": _Kind("local-file-system", "basepath", "", "shipway", {}),
    "GitHub": _Kind(
        "git-repository",
        "repository",
        "",
        "shipway-git",
        {"access_token": "an environment variable named by credentials_env (GITHUB_TOKEN)"},
    ),
}
_SLUG_TYPES = {
    "s3": "S3",
    "gcs": "GCS",
    "azure": "Azure",
    "remote-file-system": "RemoteFileSystem",
    "local-file-system": "LocalFileSystem",
    "github": "GitHub",
}
_STORAGE_BLOCK_OPTION = re.compile(r"(?:-sb|--storage-block)[ =]+([a-z0-9-]+)/([\w.-]+)")
_SETTING_NAMES = {"azure_storage_account_name": "account_name"}


def storage_notes(source: str) -> list[Note]:
    """A note for each Prefect 2 storage block in ``source`` (nothing when it does not
    parse: the rewrite reports that)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    imported = _imported_storage_classes(tree)
    notes = [*_block_notes(tree, imported), *_slug_notes(tree)]
    return sorted(set(notes))


def _imported_storage_classes(tree: ast.Module) -> dict[str, str]:
    """Local name -> Prefect class, for names imported from prefect's storage modules."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        # prefect.filesystems, prefect_github, prefect_aws...
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prefect"):
            for alias in node.names:
                if alias.name in _KINDS:
                    names[alias.asname or alias.name] = alias.name
    return names


def _block_notes(tree: ast.Module, imported: dict[str, str]) -> Iterator[Note]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in imported:
            yield _note_for_call(node, imported[function.id])
        elif (
            isinstance(function, ast.Attribute)
            and function.attr == "load"
            and isinstance(function.value, ast.Name)
            and function.value.id in imported
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            name = str(node.args[0].value)
            yield _note_for_loaded(node.lineno, imported[function.value.id], name)


def _slug_notes(tree: ast.Module) -> Iterator[Note]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in _STORAGE_BLOCK_OPTION.finditer(node.value):
                kind = _SLUG_TYPES.get(match[1])
                if kind is not None:
                    yield _note_for_loaded(node.lineno, kind, match[2], option=match[0])


def _note_for_call(call: ast.Call, prefect_class: str) -> Note:
    kind = _KINDS[prefect_class]
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    block: dict[str, object] = {"type": kind.shipway_type}
    location = _text(keywords.get(kind.location_field))
    block["url" if kind.shipway_type == "git-repository" else "basepath"] = (
        f"{kind.url_prefix}{location}" if location else f"{kind.url_prefix}<{kind.location_field}>"
    )
    reference = _text(keywords.get("reference"))
    if prefect_class == "GitHub" and reference:
        block["ref"] = reference
    moves = [
        f"{keyword} -> {where}"
        for keyword, where in kind.credentials.items()
        if keyword in keywords
    ]
    if prefect_class == "GitHub" and "access_token" in keywords:
        block["credentials_env"] = "GITHUB_TOKEN"
    settings = _settings(kind, keywords, moves)
    if settings:
        block["settings"] = settings
    return Note(call.lineno, _message(prefect_class, block, kind, moves))


def _note_for_loaded(line: int, prefect_class: str, name: str, option: str = "") -> Note:
    kind = _KINDS[prefect_class]
    field = "url" if kind.shipway_type == "git-repository" else "basepath"
    where = f"`{option}`" if option else f"{prefect_class}.load({name!r})"
    return Note(
        line,
        f"{where} names the Prefect storage block {name!r}, kept on a Prefect server: "
        f"define it in shipway.yaml as `storage: {{{name}: {{type: {kind.shipway_type}, "
        f"{field}: ...}}}}` (copy the values from the block; pip install "
        f"'{kind.distribution}') and give the deployment `storage: {name}`"
        + (
            f"; its credentials ({', '.join(kind.credentials)}) must move to the environment "
            "of the push and of the runs (secret references), not into the block"
            if kind.credentials
            else ""
        ),
    )


def _settings(kind: _Kind, keywords: dict[str, ast.expr], moves: list[str]) -> dict[str, object]:
    settings: dict[str, object] = {}
    for keyword in kind.settings:
        value = keywords.get(keyword)
        if value is None:
            continue
        if keyword == "settings":
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                moves.append("settings -> copy them by hand (not a literal)")
                continue
            if isinstance(literal, dict):
                for key, item in literal.items():
                    if _looks_secret(str(key)):
                        moves.append(f"settings.{key} -> an environment variable of the runs")
                    else:
                        settings[str(key)] = item
            continue
        settings[_SETTING_NAMES.get(keyword, keyword)] = _text(value) or f"<{keyword}>"
    return settings


def _looks_secret(name: str) -> bool:
    words = ("secret", "password", "token", "key", "credential")
    return any(word in name.lower() for word in words)


def _message(prefect_class: str, block: dict[str, object], kind: _Kind, moves: list[str]) -> str:
    name = "code"
    shown = json.dumps(block)
    message = (
        f"Prefect storage {prefect_class}(...) becomes a shipway storage block: in "
        f"shipway.yaml, `storage: {{{name}: {shown}}}` and `storage: {name}` on the "
        f"deployment (pip install '{kind.distribution}'); `shipway deployment apply` pushes "
        "the code"
    )
    if moves:
        message += "; credentials must not go in the block, move them: " + "; ".join(moves)
    return message


def _text(value: ast.expr | None) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None
