"""The store's calls as JSON, the same way on both ends (``RemoteStore`` and the
server's agent API), derived from :class:`~shipway.store.StoreInterface`'s type hints:
no field list is written twice.

- :func:`to_wire` turns any value the store takes or gives (its records are dataclasses)
  into JSON data: a dataclass becomes an object of its fields (those left at their
  default are left out, so a sentinel default never travels), a datetime ISO 8601, a
  timedelta seconds. A secret the store holds sealed travels sealed
  (``{"$sealed": token, "where": ...}``): only a machine with the secret key opens it,
  as with the database itself.
- :func:`from_wire` validates JSON data as a type hint (pydantic), turning sealed values
  back into :class:`~shipway.store._sealed.SealedSecret`.
- :func:`argument_types` / :func:`result_type`: a method's hints, by parameter name.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
import typing
from collections import abc
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter

from shipway.store._interface import StoreInterface
from shipway.store._sealed import SealedSecret

__all__ = ["argument_types", "from_wire", "result_type", "signature", "to_wire"]

_SEALED = "$sealed"


def to_wire(value: Any) -> Any:
    """``value`` as JSON data (see the module's docstring)."""
    if value is None or (
        isinstance(value, (bool, int, float, str)) and not isinstance(value, enum.Enum)
    ):
        return value
    if isinstance(value, SealedSecret):
        return {_SEALED: value.token, "where": value.where}
    if isinstance(value, SecretStr):  # a new secret on its way to be sealed by the store
        return value.get_secret_value()
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_wire(getattr(value, field.name))
            for field in dataclasses.fields(value)
            if not _is_default(field, getattr(value, field.name))
        }
    if isinstance(value, BaseModel):
        return to_wire(value.model_dump(exclude_defaults=True))
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_wire(item) for item in value]
    raise TypeError(f"the store's calls do not carry {type(value).__name__} values")


def _is_default(field: dataclasses.Field[Any], value: Any) -> bool:
    if field.default is not dataclasses.MISSING:
        default = field.default
        return value is default or (type(value) is type(default) and bool(value == default))
    return False


def from_wire(data: Any, hint: Any) -> Any:
    """JSON data (from :func:`to_wire`) as a value of type ``hint``; a pydantic
    ValidationError names the field that does not fit."""
    return _adapter(hint).validate_python(_opened(data))


@functools.cache
def _adapter(hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(_concrete(hint))


def _concrete(hint: Any) -> Any:
    """``hint`` with each ``Collection[X]`` (which pydantic cannot build) as ``list[X]``."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if not arguments:
        return hint
    concrete = tuple(_concrete(argument) for argument in arguments)
    if origin is abc.Collection:
        return list[concrete[0]]  # type: ignore[valid-type]  # built at run time
    if origin in (typing.Union, types.UnionType):
        return typing.Union[concrete]  # noqa: UP007  # a Union built from a tuple
    return hint


def _opened(data: Any) -> Any:
    if isinstance(data, dict):
        token = data.get(_SEALED)
        if isinstance(token, str):
            return SealedSecret(token, str(data.get("where", "a value from the server")))
        return {key: _opened(item) for key, item in data.items()}
    if isinstance(data, list):
        return [_opened(item) for item in data]
    return data


@functools.cache
def _hints(method: str) -> dict[str, Any]:
    return typing.get_type_hints(getattr(StoreInterface, method))


def argument_types(method: str) -> dict[str, Any]:
    """The parameters of ``StoreInterface.<method>`` and their types, by name."""
    return {name: hint for name, hint in _hints(method).items() if name != "return"}


def result_type(method: str) -> Any:
    return _hints(method)["return"]


def signature(method: str) -> inspect.Signature:
    """How ``StoreInterface.<method>`` is called (to bind a request's arguments)."""
    return inspect.signature(getattr(StoreInterface, method))
