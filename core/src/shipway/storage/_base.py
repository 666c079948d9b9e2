"""The storage contract: the base model every storage plugin subclasses."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipway._selected_by_name import check_type_default
from shipway.secrets import dump_keeping_secrets, mask
from shipway.storage._cache import cache_key

__all__ = ["Storage"]


class Storage(BaseModel):
    """Where a deployment's code is kept between ``deployment apply`` and a run. Plugins
    subclass this, add their own fields and implement :meth:`push`, :meth:`pull` and
    :meth:`preview`::

        class Bucket(Storage):
            type: Literal["bucket"] = "bucket"
            url: str

            def push(self, project_dir, *, allow_dirty=False):
                files = project_files(project_dir)     # .shipwayignore applied
                ref = content_ref(files)               # same files, same ref
                ...                                    # upload them under ref
                return ref

            def pull(self, ref, destination):
                ...                                    # download ref into destination

            def preview(self, ref=None):
                return f"download {self.url}/{ref or '<ref>'}"

    ``push`` runs where the deployment is applied; ``pull`` runs in the engine, wherever
    the run executes (a process, a container, a pod), before the flow is imported, into
    a cache keyed by :meth:`cache_key`. Unknown fields are an error.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True)

    type: str = Field(description="The name this storage is selected by.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        check_type_default(cls, "my-storage")

    # -- the contract --------------------------------------------------------------

    @abstractmethod
    def push(self, project_dir: Path, *, allow_dirty: bool = False) -> str:
        """Make the code of ``project_dir`` available to runs and return its content ref
        (a commit sha, a content hash): the same ref must always pull the same files.

        ``allow_dirty``: for a storage that records a version control state (git), accept
        uncommitted changes instead of refusing; others ignore it. Raise a
        :class:`StorageError` subclass on failure."""

    @abstractmethod
    def pull(self, ref: str, destination: Path) -> None:
        """Put the code of ``ref`` into ``destination``, an empty directory, writing
        nothing outside it. Raise :class:`StorageRefNotFound`, :class:`StorageUnreachable`,
        :class:`StorageCredentialsRejected` (or another :class:`StorageError`)."""

    @abstractmethod
    def preview(self, ref: str | None = None) -> str:
        """What a push and a pull would do, without doing anything (no network, no files
        written); secrets masked."""

    # -- what plugins may refine -----------------------------------------------------

    def location(self) -> str:
        """Where the code is kept, as messages show it (a URL, a directory), never
        with a credential in it."""
        return ""

    def block(self) -> dict[str, Any]:
        """This storage as a job and the store carry it: its fields with ``type``, secret
        values kept as ``SecretStr`` (the store seals them, displays mask them)."""
        return {"type": self.type, **dump_keeping_secrets(self)}

    def describe(self) -> str:
        """How errors and listings name this storage: its type and location, masked."""
        where = self.location()
        return mask(f"{self.type} {where}" if where else self.type)

    def cache_key(self, ref: str) -> str:
        """The pull cache's name for ``ref`` of this storage. Include whatever changes
        what a pull of one ref puts in the directory (git's ``subdirectory`` does not:
        the whole checkout is cached, see :meth:`working_dir`)."""
        return cache_key(self.type, self.location(), ref)

    def working_dir(self, pulled: Path) -> Path:
        """The project directory inside a pulled ``ref`` (default: the pull itself)."""
        return pulled

    @classmethod
    def type_name(cls) -> str:
        """The name this class is selected by (the default of its ``type`` field)."""
        return str(cls.model_fields["type"].default)
