"""Generate a complete infrastructure plugin package from the template shipped with shipway
(what ``shipway plugin new NAME`` does)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

TEMPLATE_SUFFIX = ".tmpl"
MODULE_PLACEHOLDER = "__module__"
# A DNS label: what the type name must look like to be a key in YAML, an entry point
# name, and part of container and Job names on the platforms shipway runs on.
_TYPE_NAME = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclasses.dataclass(frozen=True)
class PluginNames:
    """Every name the generated package uses, derived from the type name."""

    type_name: str
    distribution: str
    module: str
    class_name: str
    shipway_requirement: str

    @classmethod
    def for_type(cls, type_name: str) -> PluginNames:
        from shipway._version import __version__

        words = type_name.split("-")
        return cls(
            type_name=type_name,
            distribution=f"shipway-{type_name}",
            module=f"shipway_{'_'.join(words)}",
            class_name="".join(word.capitalize() for word in words),
            shipway_requirement=_compatible_requirement(__version__),
        )


def _compatible_requirement(version: str) -> str:
    """``shipway>=0.1,<0.2`` for 0.1.x (minor versions may break before 1.0), else
    ``shipway>=1.2,<2``."""
    major, minor = (int(part) for part in version.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f"shipway>={major}.{minor},<{upper}"


def validate_type_name(name: str) -> str:
    from shipway.errors import ShipwayError
    from shipway.plugins import FIRST_PARTY_PLUGINS

    if not _TYPE_NAME.fullmatch(name) or "--" in name:
        raise ShipwayError(
            f"{name!r} cannot be an infrastructure type name",
            hint="Use lower-case letters, digits and single hyphens, starting with a letter "
            "and ending with a letter or digit, at most 63 characters: e.g. 'my-cluster'.",
        )
    if name in FIRST_PARTY_PLUGINS:
        raise ShipwayError(
            f"{name!r} is the type name of the first-party plugin "
            f"{FIRST_PARTY_PLUGINS[name].distribution}",
            hint="Pick a name of your own: two plugins claiming one name cannot be installed "
            "together.",
        )
    return name


def template_dir() -> Path:
    """The template files, shipped inside the shipway package."""
    return Path(__file__).resolve().parent / "plugin_template"


def generate_plugin(type_name: str, parent: Path) -> tuple[Path, PluginNames]:
    """Write the plugin package for ``type_name`` into ``parent/shipway-<type_name>``."""
    import shutil
    from string import Template

    from shipway.errors import ShipwayError

    names = PluginNames.for_type(validate_type_name(type_name))
    target = parent / names.distribution
    if target.exists():
        raise ShipwayError(
            f"{target} already exists; nothing was written",
            hint="Remove it, or choose another directory with --path.",
        )
    values = dataclasses.asdict(names)
    source = template_dir()
    rendered: dict[str, bytes] = {}  # everything first, so a failure leaves nothing behind
    for path in sorted(source.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(source).as_posix().replace(MODULE_PLACEHOLDER, names.module)
        if relative.endswith(TEMPLATE_SUFFIX):
            text = Template(path.read_text(encoding="utf-8")).substitute(values)
            rendered[relative.removesuffix(TEMPLATE_SUFFIX)] = text.encode("utf-8")
        else:
            rendered[relative] = path.read_bytes()
    try:
        for relative, content in rendered.items():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(content)
    except OSError as exc:  # a user's directory we cannot write to: not a bug to report
        shutil.rmtree(target, ignore_errors=True)  # it did not exist: leave nothing behind
        raise ShipwayError(
            f"cannot create {target}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")
            + "; nothing was written",
            hint="Choose a directory you can write to with --path.",
        ) from exc
    return target, names
