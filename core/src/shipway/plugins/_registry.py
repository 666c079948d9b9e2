"""The plugin registry: loads plugins by name, owns the collision policy, and is
the typed façade over the hooks (core code never calls ``pm.hook.*`` itself)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from shipway import hookspecs
from shipway._markers import PROJECT_NAME
from shipway.plugins._discovery import OBSERVER_GROUP, PluginSource, find_plugin_sources
from shipway.plugins._errors import (
    PluginBlockedError,
    PluginCollisionError,
    PluginError,
    PluginLoadError,
    PluginNotInstalled,
    UnknownInfrastructureType,
    UnknownPluginType,
    UnknownStorageType,
    did_you_mean,
)
from shipway.plugins._kinds import INFRASTRUCTURE_KIND, KINDS, STORAGE_KIND, PluginKind
from shipway.plugins._policy import DISABLE_VAR, PluginPolicy
from shipway.plugins._trace import HookTracer

if TYPE_CHECKING:
    from shipway.infrastructure import Infrastructure, JobAdditions
    from shipway.jobs import Job
    from shipway.states import State
    from shipway.storage import Storage

__all__ = ["PluginInfo", "PluginRegistry", "PluginStatus"]

logger = logging.getLogger("shipway.plugins")


class PluginStatus(str, enum.Enum):
    LOADED = "loaded"
    FAILED = "failed"
    BLOCKED = "blocked"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """One row of ``shipway plugins``."""

    name: str
    kind: str  # "infrastructure", "storage" or "observer"
    distribution: str
    version: str
    module: str
    status: PluginStatus
    error: str | None = None
    hooks: tuple[str, ...] = ()
    class_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["hooks"] = list(self.hooks)
        return data


class _PluginManager(pluggy.PluginManager):
    """Treats undecorated ``shipway_*`` functions as hook implementations too, so a
    misspelled hook name is caught by ``check_pending`` instead of never running."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("shipway_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


_UNKNOWN: dict[PluginKind, type[UnknownPluginType]] = {
    INFRASTRUCTURE_KIND: UnknownInfrastructureType,
    STORAGE_KIND: UnknownStorageType,
}


class PluginRegistry:
    """Resolve infrastructure and storage type names to classes, list plugins, and call
    hooks. Both kinds follow the same rules (see ``_kinds``): only the named entry point
    loads, two claimants are an error naming both, an unknown name lists the installed ones.

    Public beyond the core, for plugin authors' tests and tools: ``register`` (a plugin
    module in-process, without installing it), ``resolve``, ``resolve_storage``,
    ``list_plugins``, and what has been loaded so far: ``infrastructure_types``,
    ``storage_types`` and ``plugins``.
    """

    def __init__(self, policy: PluginPolicy | None = None) -> None:
        self.policy = policy or PluginPolicy.from_environment()
        self._pm = _PluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._types: dict[PluginKind, dict[str, type[Any]]] = {kind: {} for kind in KINDS}
        self._type_origin: dict[PluginKind, dict[str, str]] = {kind: {} for kind in KINDS}
        self._loaded_sources: dict[PluginSource, object] = {}
        self._observers_loaded = False
        self._tracer = HookTracer.from_environment()  # SHIPWAY_TRACE_HOOKS=1
        if self._tracer is not None:
            self._tracer.monitor(self._pm)

    # -- registration --------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object in-process (tests, embedding); entry points not needed."""
        self._register(plugin, name, origin=f"registered in-process as {name or plugin!r}")

    def _register(
        self, plugin: object, name: str | None, origin: str, label: str | None = None
    ) -> None:
        """``label`` is how errors name the plugin (its entry point name); default ``name``."""
        label = label or name or repr(plugin)
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            raise PluginLoadError(
                label, origin, exc, suggestion=self._hook_name_suggestion(plugin)
            ) from exc
        provided: dict[PluginKind, dict[str, type[Any]]] = {}
        for kind in KINDS:
            provided[kind] = {}
            for cls in self._classes_provided_by(plugin, kind, label, origin):
                type_name = cls.type_name()
                existing = self._types[kind].get(type_name)
                if existing is not None and existing is not cls:
                    self._pm.unregister(plugin)
                    claimants = [self._type_origin[kind][type_name], origin]
                    raise PluginCollisionError(type_name, claimants, kind=kind.name)
                provided[kind][type_name] = cls
        # Only now, so a plugin rejected half-way leaves none of its classes behind.
        for kind, classes in provided.items():
            for type_name, cls in classes.items():
                self._types[kind][type_name] = cls
                self._type_origin[kind][type_name] = origin

    def _hook_name_suggestion(self, plugin: object) -> str | None:
        """"Did you mean ...?" for a ``shipway_*`` function of ``plugin`` that is no hook."""
        specs = [name for name in dir(hookspecs) if name.startswith("shipway_")]
        for name in dir(plugin):
            if name.startswith("shipway_") and name not in specs:
                suggestion = did_you_mean(name, specs)
                if suggestion:
                    return f"{name!r} is not a shipway hook. {suggestion}"
        return None

    def _classes_provided_by(
        self, plugin: object, kind: PluginKind, name: str, origin: str
    ) -> list[type[Any]]:
        base = kind.base_class()
        classes: list[type[Any]] = []
        for impl in getattr(self._pm.hook, kind.hook).get_hookimpls():
            if impl.plugin is not plugin:
                continue
            try:
                provided: Any = self._call_impl(kind.hook, impl, {})
            except Exception as exc:
                self._pm.unregister(plugin)
                raise PluginLoadError(name, origin, exc) from exc
            for cls in provided or ():
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    self._pm.unregister(plugin)
                    raise PluginLoadError(
                        name,
                        origin,
                        f"{kind.hook} returned {cls!r}, "
                        f"which is not {_article(base.__name__)} {base.__name__} subclass",
                    )
                classes.append(cls)
        return classes

    # -- resolution ----------------------------------------------------------------

    def resolve(self, type_name: str) -> type[Infrastructure]:
        """The infrastructure class for ``type_name``, loading only the plugin that
        declares that name."""
        cls: type[Infrastructure] = self._resolve(INFRASTRUCTURE_KIND, type_name)
        return cls

    def resolve_storage(self, type_name: str) -> type[Storage]:
        """The storage class for ``type_name``, loading only the plugin that declares it."""
        cls: type[Storage] = self._resolve(STORAGE_KIND, type_name)
        return cls

    def _resolve(self, kind: PluginKind, type_name: str) -> type[Any]:
        if type_name in self._types[kind]:
            return self._types[kind][type_name]
        if self.policy.disabled:
            raise PluginBlockedError(
                f"{kind} {type_name!r} is not available: plugin loading is "
                f"disabled by {DISABLE_VAR}.",
                hint=f"Unset {DISABLE_VAR} to load installed plugins.",
            )
        sources = find_plugin_sources(kind.group, type_name)
        if not sources:
            raise _UNKNOWN[kind](type_name, self.installed_type_names(kind))
        return self._load_type(kind, type_name, sources)

    def _load_type(
        self, kind: PluginKind, type_name: str, sources: list[PluginSource]
    ) -> type[Any]:
        # A blocked claimant is out of the running: blocking one of two distributions
        # that claim a name is how a user resolves the collision.
        # When every claimant is blocked, say so: a collision among blocked plugins is moot.
        allowed = [s for s in sources if self.policy.blocked_reason(s) is None]
        if not allowed:
            source = sources[0]
            raise PluginBlockedError(
                f"{kind} {type_name!r} ({source.origin}) is "
                f"{self.policy.blocked_reason(source)}.",
                hint="Change the environment variable to allow it.",
            )
        distributions = {f"{s.distribution} {s.version}" for s in allowed}
        if len(distributions) > 1:
            raise PluginCollisionError(type_name, distributions, kind=kind.name)
        source = allowed[0]
        self._load_source(source)
        cls = self._types[kind].get(type_name)
        if cls is None:
            origins = self._type_origin[kind]
            offered = sorted(n for n, o in origins.items() if o == source.origin)
            raise PluginLoadError(
                type_name,
                source.origin,
                f"its {kind.hook} returned no class with type {type_name!r}"
                + (f" (it returned: {', '.join(offered)})" if offered else ""),
            )
        return cls

    def _load_source(self, source: PluginSource) -> object:
        if source in self._loaded_sources:
            return self._loaded_sources[source]
        if self._tracer is not None:
            self._tracer.note(f"loading plugin {source.name!r} ({source.origin})")
        try:
            plugin = source.entry_point.load()
        except Exception as exc:
            raise PluginLoadError(source.name, source.origin, exc) from exc
        # One module may back several entry points (several type names): register it once.
        if not self._pm.is_registered(plugin):
            self._register(
                plugin, f"{source.group}:{source.name}", source.origin, label=source.name
            )
        self._loaded_sources[source] = plugin
        return plugin

    def installed_type_names(self, kind: PluginKind = INFRASTRUCTURE_KIND) -> list[str]:
        """Names declared by installed plugins of ``kind``, without importing any of them."""
        names = {s.name for s in find_plugin_sources(kind.group)}
        return sorted(names | set(self._types[kind]))

    def infrastructure_class_by_class_name(self, class_name: str) -> type[Infrastructure]:
        """Back ``from shipway.infrastructure import Process``: first-party names load only
        their own plugin; any other class name searches every installed plugin."""
        cls: type[Infrastructure] = self.class_by_class_name(INFRASTRUCTURE_KIND, class_name)
        return cls

    def class_by_class_name(self, kind: PluginKind, class_name: str) -> type[Any]:
        """Back ``from shipway.<kind module> import ClassName`` (see above)."""
        module = kind.base_module
        for type_name, (distribution, known_class) in kind.first_party.items():
            if known_class == class_name:
                try:
                    return self._resolve(kind, type_name)
                except UnknownPluginType:
                    raise PluginNotInstalled(
                        f"cannot import name {class_name!r} from {module!r}: "
                        f"it is provided by the {distribution} plugin, which is not installed. "
                        f"Install it with: pip install {distribution}",
                        name=class_name,
                    ) from None
                except PluginError as exc:  # blocked, disabled or broken: still an ImportError
                    raise PluginNotInstalled(
                        f"cannot import name {class_name!r} from {module!r}: {exc.message}",
                        name=class_name,
                    ) from exc
        self.list_plugins()
        for cls in self._types[kind].values():
            if cls.__name__ == class_name:
                return cls
        raise PluginNotInstalled(
            f"cannot import name {class_name!r} from {module!r}: no installed "
            "plugin provides it (`shipway plugins` lists what is installed)",
            name=class_name,
        )

    # -- listing -------------------------------------------------------------------

    def list_plugins(self) -> list[PluginInfo]:
        """Every discovered plugin, loading each; failures are reported, not raised
        (unless the policy is strict)."""
        infos: list[PluginInfo] = []
        for kind in KINDS:
            by_name: dict[str, list[PluginSource]] = defaultdict(list)
            for source in find_plugin_sources(kind.group):
                by_name[source.name].append(source)
            for name, sources in sorted(by_name.items()):
                for source in sources:
                    load = functools.partial(self._load_type, kind, name, sources)
                    infos.append(self._inspect(source, load, kind=kind.name))
        for source in find_plugin_sources(OBSERVER_GROUP):
            load_one = functools.partial(self._load_source, source)
            infos.append(self._inspect(source, load_one, kind="observer"))
        return infos

    def _inspect(
        self, source: PluginSource, load: Callable[[], object], kind: str
    ) -> PluginInfo:
        row = functools.partial(
            PluginInfo,
            name=source.name,
            kind=kind,
            distribution=source.distribution,
            version=source.version,
            module=source.module,
        )
        reason = self.policy.blocked_reason(source)
        if reason is not None:
            return row(status=PluginStatus.BLOCKED, error=reason)
        try:
            loaded = load()
        except PluginError as exc:
            if self.policy.strict:
                raise
            error = exc.reason if isinstance(exc, PluginLoadError) else exc.message
            return row(status=PluginStatus.FAILED, error=error)
        plugin = self._loaded_sources.get(source)
        hooks = tuple(sorted(c.name for c in self._pm.get_hookcallers(plugin) or ()))
        class_name = loaded.__name__ if isinstance(loaded, type) else None
        return row(status=PluginStatus.LOADED, hooks=hooks, class_name=class_name)

    # -- what is loaded so far -----------------------------------------------------

    def infrastructure_types(self) -> dict[str, type[Infrastructure]]:
        """Every infrastructure class loaded so far, by type name (``resolve`` and
        ``list_plugins`` load them; nothing else is imported to answer)."""
        return dict(self._types[INFRASTRUCTURE_KIND])

    def storage_types(self) -> dict[str, type[Storage]]:
        """Every storage class loaded so far, by type name (as above)."""
        return dict(self._types[STORAGE_KIND])

    def plugins(self) -> Iterable[tuple[str | None, object]]:
        """Every plugin object registered so far, with the name it was registered under
        (``group:entry point`` for an entry point, ``register``'s name otherwise): a test
        can check that a plugin loaded once, or that a rejected one left nothing behind."""
        return self._pm.list_name_plugin()

    # -- the typed hook façade -----------------------------------------------------

    def load_observers(self) -> None:
        """Load every ``shipway.plugins`` entry point once; a broken one is reported."""
        if self._observers_loaded:
            return
        self._observers_loaded = True
        for source in find_plugin_sources(OBSERVER_GROUP):
            if self.policy.blocked_reason(source) is not None:
                continue
            try:
                self._load_source(source)
            except PluginError as exc:
                if self.policy.strict:
                    raise
                logger.warning("%s", exc.message)

    def job_submitting(self, job: Job, infrastructure: Infrastructure) -> JobAdditions:
        """Merge what every ``shipway_job_submitting`` hook adds; on a conflict the plugin
        called first (registered first, or marked ``tryfirst``) wins."""
        from shipway.infrastructure import JobAdditions

        env: dict[str, str] = {}
        labels: dict[str, str] = {}
        for added in self._call_each(
            "shipway_job_submitting", job=job, infrastructure=infrastructure
        ):
            if isinstance(added, JobAdditions):
                env = {**added.env, **env}
                labels = {**added.labels, **labels}
        return JobAdditions(env=env, labels=labels)

    def flow_run_state_changed(self, job: Job, state: State) -> None:
        self._call_each("shipway_flow_run_state_changed", job=job, state=state)

    def _call_each(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call each implementation alone, so one failing observer cannot break a run
        or silence the others (pluggy would stop at the first exception)."""
        results: list[Any] = []
        caller = getattr(self._pm.hook, hook_name)
        # Registration order (observers load sorted by entry point name), with
        # ``tryfirst``/``trylast`` honoured. pluggy's own order is the reverse: newest first.
        registered = {id(plugin): n for n, (_, plugin) in enumerate(self._pm.list_name_plugin())}
        impls = sorted(
            caller.get_hookimpls(),
            key=lambda impl: (
                0 if impl.tryfirst else 2 if impl.trylast else 1,
                registered.get(id(impl.plugin), 0),
            ),
        )
        if not impls and self._tracer is not None:
            self._tracer.note(f"hook {hook_name}: no plugin implements it")
        for impl in impls:
            try:
                result = self._call_impl(hook_name, impl, kwargs)
            except Exception as exc:
                if self.policy.strict:
                    raise
                plugin_name = self._pm.get_name(impl.plugin) or repr(impl.plugin)
                logger.warning(
                    "hook %s of plugin %s raised %s: %s (ignored)",
                    hook_name,
                    plugin_name,
                    type(exc).__name__,
                    exc,
                )
                continue
            if result is not None:
                results.append(result)
        return results

    def _call_impl(self, hook_name: str, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
        """Call one implementation with the arguments it asks for, traced if enabled."""
        arguments = {arg: kwargs[arg] for arg in impl.argnames}
        if self._tracer is None:
            return impl.function(*arguments.values())
        plugin_name = self._pm.get_name(impl.plugin) or repr(impl.plugin)
        self._tracer.call(hook_name, plugin_name, arguments)
        try:
            result = impl.function(*arguments.values())
        except BaseException as exc:
            self._tracer.raised(hook_name, plugin_name, exc)
            raise
        self._tracer.returned(hook_name, plugin_name, result)
        return result


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
