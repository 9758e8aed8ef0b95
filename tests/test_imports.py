"""The package's shape as its imports draw it: the music model stands on its own, and no
two modules need each other to load.

Imports inside functions are deferred on purpose (heavy libraries load where they are
used, and a plugin's module loads when it is asked for), so one cycle check follows only
the imports a module runs as it loads and another every import, as the layering check does."""

from __future__ import annotations

import ast
from pathlib import Path

import midicli

ROOT = Path(midicli.__file__).parent
MODULES = {
    ".".join(("midicli", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(
        ".__init__"
    ): path
    for path in ROOT.rglob("*.py")
}


def _target(module: str, node: ast.ImportFrom, alias: ast.alias) -> str:
    """`from a.b import c` names module a.b.c when c is a module, else a.b."""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = ".".join(p for p in (package, node.module) if p)
    else:
        base = node.module or ""
    return f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, at_load_only: bool) -> set[str]:
    """The midicli modules ``module`` imports: all of them, or only those it runs as it
    loads (not in a function, class body aside, nor under ``if TYPE_CHECKING``)."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(MODULES[module].read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_target(module, node, alias) for alias in node.names)
        if at_load_only and (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            or (isinstance(node, ast.stmt) and _is_type_checking(node))
        ):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                return path[path.index(imported) :] + [imported]
            if imported not in state and (found := visit(imported)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_music_model_imports_no_tokenizer_engine_or_cli() -> None:
    forbidden = ("midicli.tokenizers", "midicli.engines", "midicli.cli")
    offending = sorted(
        f"{module} imports {imported}"
        for module in MODULES
        if module.startswith("midicli.music")
        for imported in _imports(module, at_load_only=False)
        if imported.startswith(forbidden)
    )
    assert offending == []


def test_no_two_modules_need_each_other_to_load() -> None:
    graph = {module: _imports(module, at_load_only=True) - {module} for module in MODULES}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_two_modules_import_each_other_even_where_deferred() -> None:
    graph = {module: _imports(module, at_load_only=False) - {module} for module in MODULES}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle through a deferred import: " + " -> ".join(cycle or [])


def test_the_checks_see_a_cycle_and_a_deferred_import() -> None:
    """The walker itself: a cycle is found, and an import inside a function is skipped."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert "midicli.music.piece" in _imports("midicli.music.midi_io", at_load_only=True)
