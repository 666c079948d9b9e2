"""The typed errors of the storage contract. Each names the storage (its type and where
it is, never a credential) and the ref, and is masked like everything shipway shows."""

from __future__ import annotations

from shipway.errors import ShipwayError
from shipway.secrets import mask

__all__ = [
    "StorageCredentialsRejected",
    "StorageError",
    "StorageRefNotFound",
    "StorageUnreachable",
]


class StorageError(ShipwayError):
    """Code could not be pushed to or pulled from a storage.

    ``storage`` is how the storage is named in messages (``Storage.describe()``), ``ref``
    the content ref concerned (None when there is none yet, as during a push)."""

    def __init__(
        self, storage: str, ref: str | None, problem: str, *, hint: str | None = None
    ) -> None:
        self.storage = storage
        self.ref = ref
        where = f"storage {storage}" + (f" (ref {ref})" if ref else "")
        super().__init__(mask(f"{where}: {problem}"), hint=mask(hint) if hint else None)


class StorageRefNotFound(StorageError):
    """The storage answered, but holds no code for that ref (never pushed, or removed)."""


class StorageUnreachable(StorageError):
    """The storage could not be reached: no such host or directory, refused, timed out."""


class StorageCredentialsRejected(StorageError):
    """The storage refused the credentials it was given (or was given none it needs)."""
