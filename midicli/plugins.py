"""The one PluginManager: built-ins, installed entry points and local plugin files.

A plugin that fails to import or whose hook raises is recorded with its name and
skipped, so one broken plugin never breaks other commands.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pluggy

from midicli import hookspecs
from midicli.errors import PluginError

ENTRY_POINT_GROUP = "midicli"
PLUGINS_ENV = "MIDICLI_PLUGINS"
DEFAULT_PLUGINS = (
    "midicli.tokenizers.plugin",
    "midicli.engines.plugin",
    "midicli.render.plugin",
)

pm = pluggy.PluginManager("midicli")
pm.add_hookspecs(hookspecs)


@dataclass
class PluginState:
    sources: dict[str, str] = field(default_factory=dict)  # plugin name -> where it came from
    errors: dict[str, str] = field(default_factory=dict)  # plugin name -> what went wrong
    loaded: set[str] = field(default_factory=set)  # local paths/modules already loaded


state = PluginState()


def _register(module: ModuleType | object, name: str, source: str) -> None:
    if pm.is_registered(module) or pm.get_plugin(name) is not None:
        return
    pm.register(module, name=name)
    state.sources[name] = source


def _load_module(spec: str) -> tuple[ModuleType, str]:
    """Import a dotted module name or a ``.py`` file path."""
    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise FileNotFoundError(f"no plugin file {spec}")
        name = f"midicli_local_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module, path.stem
    return importlib.import_module(spec), spec


def load_local(specs: list[str], source: str) -> None:
    """Load plugin modules or files (from the config, ``MIDICLI_PLUGINS`` or a folder)."""
    for spec in specs:
        if not spec or spec in state.loaded:
            continue
        state.loaded.add(spec)
        try:
            module, name = _load_module(spec)
            _register(module, name, f"{source}: {spec}")
        except Exception as exc:  # a broken plugin is reported, not fatal
            state.errors[spec] = f"{type(exc).__name__}: {exc}"


def load_plugins_dir(directory: Path) -> None:
    """Load every ``*.py`` file in a folder as a plugin (``--plugins-dir``)."""
    load_local([str(p) for p in sorted(directory.glob("*.py"))], "plugins dir")


def load_plugins() -> None:
    """Load built-ins, entry points and ``MIDICLI_PLUGINS``; safe to call repeatedly."""
    if "builtins" in state.loaded:
        return
    state.loaded.add("builtins")
    for module_name in DEFAULT_PLUGINS:
        _register(importlib.import_module(module_name), module_name, "built-in")
    if not os.environ.get("MIDICLI_NO_ENTRY_POINTS"):
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                _register(entry_point.load(), entry_point.name, f"package {entry_point.dist.name if entry_point.dist else '?'}")
            except Exception as exc:
                state.errors[entry_point.name] = f"{type(exc).__name__}: {exc}"
    load_local(os.environ.get(PLUGINS_ENV, "").split(","), PLUGINS_ENV)


def _collect(hook_name: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Call one ``register_*`` hook on every plugin, isolating failures per plugin."""
    load_plugins()
    registered: list[tuple[str, tuple[Any, ...]]] = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        items: list[tuple[Any, ...]] = []
        try:
            impl.function(register=lambda *args: items.append(args))
        except Exception as exc:
            state.errors[impl.plugin_name] = f"{hook_name}: {type(exc).__name__}: {exc}"
            continue
        registered.extend((impl.plugin_name, args) for args in items)
    return registered


def tokenizers() -> dict[str, Any]:
    return {args[0].name: args[0] for _, args in _collect("register_tokenizers")}


def engines() -> dict[str, Callable[..., Any]]:
    return {args[0]: args[1] for _, args in _collect("register_engines")}


def renderers() -> dict[str, Callable[..., Any]]:
    return {args[0]: args[1] for _, args in _collect("register_renderers")}


def get_tokenizer(name: str) -> Any:
    found = tokenizers()
    if name not in found:
        raise PluginError(f"no tokenizer named {name!r} (available: {', '.join(sorted(found))})")
    return found[name]


def get_engine_factory(name: str) -> Callable[..., Any]:
    found = engines()
    if name not in found:
        raise PluginError(f"no engine named {name!r} (available: {', '.join(sorted(found))})")
    return found[name]


def add_commands(app: Any) -> None:
    """Let every plugin add commands; a failing plugin is recorded and skipped."""
    load_plugins()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as exc:
            state.errors[impl.plugin_name] = f"register_commands: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    hooks: tuple[str, ...]


def plugin_list() -> list[PluginInfo]:
    """What is loaded and from where, for ``midicli plugins``."""
    load_plugins()
    return [
        PluginInfo(name, state.sources.get(name, "?"), tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or [])))
        for name, plugin in pm.list_name_plugin()
    ]
