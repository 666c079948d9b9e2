"""fsspec back-ends raise their own exceptions (botocore, aiohttp, paramiko...): these
rules sort them into the storage contract's typed errors without importing any of them."""

from __future__ import annotations

from shipway.storage import (
    StorageCredentialsRejected,
    StorageError,
    StorageRefNotFound,
    StorageUnreachable,
)

__all__ = ["storage_error"]

_CREDENTIALS = (
    "accessdenied",
    "access denied",
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "forbidden",
    "unauthorized",
    "authentication",
    "credentials",
    "permission",
    "403",
    "401",
)
_UNREACHABLE = (
    "connect",
    "connection",
    "timed out",
    "timeout",
    "name or service not known",
    "nodename nor servname",
    "no route",
    "unreachable",
    "nosuchbucket",
)


def storage_error(exc: BaseException, storage: str, ref: str | None) -> StorageError:
    """The typed storage error for ``exc``, which a file system operation raised."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower().replace(" ", "")
    spaced = text.lower()
    if isinstance(exc, PermissionError) or any(
        word.replace(" ", "") in lowered for word in _CREDENTIALS
    ):
        return StorageCredentialsRejected(
            storage,
            ref,
            f"the file system refused the credentials ({text})",
            hint="Check the credentials in 'settings' or in the environment (AWS_* for S3).",
        )
    if isinstance(exc, FileNotFoundError) or "nosuchkey" in lowered:
        return StorageRefNotFound(
            storage,
            ref,
            "no project was pushed with this ref",
            hint="Push it with `shipway deployment push NAME` (or `deployment apply`).",
        )
    if isinstance(exc, (ConnectionError, TimeoutError)) or any(
        word in spaced for word in _UNREACHABLE
    ):
        return StorageUnreachable(storage, ref, f"cannot reach the file system ({text})")
    return StorageError(storage, ref, text)
