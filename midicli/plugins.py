"""The one PluginManager: built-ins, installed entry points and local plugin files.

A plugin that fails to import or whose hook raises is recorded with its name and
skipped, so one broken plugin never breaks other commands. Plugins named by a
project's ``midicli.toml`` came with the project (a clone, a download), so they run
only once the user has trusted that exact file (``midicli plugins trust``): the trust
is kept outside the project, under ``$MIDICLI_HOME``, keyed by the file's path and the
sha256 of its content, so an edited file is untrusted again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from midicli import hookspecs
from midicli.errors import PluginError
from midicli.project.config import midicli_home
from midicli.project.files import write_text_atomic

ENTRY_POINT_GROUP = "midicli"
PLUGINS_ENV = "MIDICLI_PLUGINS"
TRUST_FILE = "trusted-plugins.json"
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
    untrusted: dict[str, str] = field(
        default_factory=dict
    )  # project plugin file -> config that names it
    with_commands: set[str] = field(default_factory=set)  # plugins whose register_commands has run


state = PluginState()


def _register(module: ModuleType | object, name: str, source: str) -> None:
    if pm.is_registered(module) or pm.get_plugin(name) is not None:
        return
    pm.register(module, name=name)
    state.sources[name] = source


def _exec_file(path: Path, source: bytes) -> ModuleType:
    """Run a plugin file from the bytes already read (and, for a project's, already hashed)."""
    name = f"midicli_local_{path.stem}"
    module_spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    assert module_spec is not None
    module = importlib.util.module_from_spec(module_spec)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def _load_module(spec: str) -> tuple[ModuleType, str]:
    """Import a dotted module name or a ``.py`` file path."""
    if spec.endswith(".py"):
        path = Path(spec)
        return _exec_file(path, _read_plugin(path)), path.stem
    return importlib.import_module(spec), spec


def _read_plugin(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"no plugin file {path}")
    return path.read_bytes()


def load_local(specs: list[str], source: str) -> None:
    """Load plugin modules or files the user named (``MIDICLI_PLUGINS``, ``--plugins-dir``)."""
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
    """Load every ``*.py`` file in a folder as a plugin (``--plugins-dir``). The user
    names the folder on the command line, so its files need no trust."""
    load_local([str(p) for p in sorted(directory.glob("*.py"))], "plugins dir")


def load_project_plugins(root: Path, specs: list[str]) -> list[str]:
    """Load the plugins a project's ``midicli.toml`` lists; returns the files skipped
    as untrusted. Files resolve against the project root; a module name must be
    installed, not a file of the project (which could run untrusted code)."""
    skipped = []
    for spec in specs:
        if not spec or spec in state.loaded:
            continue
        state.loaded.add(spec)
        try:
            if spec.endswith(".py"):
                path = (root / spec).resolve()
                source = _read_plugin(path)
                if not is_trusted(path, source):
                    state.untrusted[str(path)] = str(root / "midicli.toml")
                    skipped.append(str(path))
                    continue
                module, name = _exec_file(path, source), path.stem
            else:
                _refuse_project_module(root, spec)
                module, name = importlib.import_module(spec), spec
            _register(module, name, f"midicli.toml: {spec}")
        except Exception as exc:  # a broken plugin is reported, not fatal
            state.errors[spec] = f"{type(exc).__name__}: {exc}"
    return skipped


def _refuse_project_module(root: Path, spec: str) -> None:
    found = importlib.util.find_spec(spec.partition(".")[0])
    origin = Path(found.origin).resolve() if found is not None and found.origin else None
    if origin is not None and origin.is_relative_to(root):
        raise PluginError(
            f"{spec} is a module inside the project: list its .py file instead, then `midicli "
            "plugins trust` it"
        )


def _trust_path() -> Path:
    return midicli_home() / TRUST_FILE


def _trusted_files() -> dict[str, str]:
    try:
        data = json.loads(_trust_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(files, dict) else {}


def is_trusted(path: Path, source: bytes) -> bool:
    """Whether the user trusted this file with exactly this content."""
    return _trusted_files().get(str(path.resolve())) == hashlib.sha256(source).hexdigest()


def trust(path: Path) -> str:
    """Record that the user trusts ``path`` as it is now; returns its sha256."""
    path = path.resolve()
    try:
        digest = hashlib.sha256(_read_plugin(path)).hexdigest()
    except OSError as exc:
        raise PluginError(f"cannot read the plugin {path}: {exc.strerror or exc}") from None
    files = _trusted_files() | {str(path): digest}
    try:
        _trust_path().parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            _trust_path(), json.dumps({"files": files}, indent=2, sort_keys=True) + "\n"
        )
    except OSError as exc:
        raise PluginError(
            f"cannot record the trust in {_trust_path()}: {exc.strerror or exc}"
        ) from None
    return digest


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
                _register(
                    entry_point.load(),
                    entry_point.name,
                    f"package {entry_point.dist.name if entry_point.dist else '?'}",
                )
            except Exception as exc:
                state.errors[entry_point.name] = f"{type(exc).__name__}: {exc}"
    load_local(os.environ.get(PLUGINS_ENV, "").split(","), PLUGINS_ENV)


def _callers(hook_name: str) -> list[tuple[str, Callable[..., Any]]]:
    """Each plugin implementing ``hook_name`` with its own hook caller, in the order pluggy
    calls them (``tryfirst`` first, ``trylast`` last, otherwise the last registered first).
    A caller per plugin keeps one plugin's failure from hiding the others' registrations,
    and says which plugin registered what."""
    impls = [
        impl
        for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls())
        if not (impl.hookwrapper or impl.wrapper)
    ]
    return [
        (
            impl.plugin_name,
            pm.subset_hook_caller(
                hook_name, remove_plugins=[p for p in pm.get_plugins() if p is not impl.plugin]
            ),
        )
        for impl in impls
    ]


def _collect(
    hook_name: str, kind: str, key: Callable[[tuple[Any, ...]], str]
) -> dict[str, tuple[Any, ...]]:
    """Call one ``register_*`` hook through pluggy, isolating failures per plugin. A name
    registered a second time is refused (the first, in pluggy's call order, stands) and
    recorded against the plugin that tried, naming both."""
    load_plugins()
    found: dict[str, tuple[str, tuple[Any, ...]]] = {}  # name -> (plugin, register's arguments)
    for plugin_name, call in _callers(hook_name):
        items: list[tuple[Any, ...]] = []
        try:
            call(register=lambda *args: items.append(args))  # noqa: B023 - called within this pass
        except Exception as exc:
            state.errors[plugin_name] = f"{hook_name}: {type(exc).__name__}: {exc}"
            continue
        for args in items:
            name = key(args)
            if name in found:
                state.errors[plugin_name] = (
                    f"{hook_name}: {kind} {name!r} is already registered by {found[name][0]}; "
                    f"the one from {plugin_name} is refused"
                )
                continue
            found[name] = (plugin_name, args)
    return {name: args for name, (_, args) in found.items()}


def tokenizers() -> dict[str, Any]:
    return {
        name: args[0]
        for name, args in _collect("register_tokenizers", "tokenizer", lambda a: a[0].name).items()
    }


def engines() -> dict[str, Callable[..., Any]]:
    return {
        name: args[1]
        for name, args in _collect("register_engines", "engine", lambda a: a[0]).items()
    }


def renderers() -> dict[str, Callable[..., Any]]:
    return {
        name: args[1]
        for name, args in _collect("register_renderers", "renderer", lambda a: a[0]).items()
    }


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
    """Let every loaded plugin add its commands once; a failing plugin is recorded and skipped."""
    load_plugins()
    for plugin_name, call in _callers("register_commands"):
        if plugin_name in state.with_commands:
            continue
        state.with_commands.add(plugin_name)
        try:
            call(app=app)
        except Exception as exc:
            state.errors[plugin_name] = f"register_commands: {type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str
    hooks: tuple[str, ...]


def plugin_list() -> list[PluginInfo]:
    """What is loaded and from where, for ``midicli plugins``."""
    load_plugins()
    return [
        PluginInfo(
            name,
            state.sources.get(name, "?"),
            tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or [])),
        )
        for name, plugin in pm.list_name_plugin()
    ]
