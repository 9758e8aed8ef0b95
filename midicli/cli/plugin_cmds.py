"""plugins and models: what this installation can do."""

from __future__ import annotations

import typer

from midicli import defaults, plugins
from midicli.cli.options import Json
from midicli.cli.output import error, print_json, print_table


def plugins_(as_json: Json = False) -> None:
    """List loaded plugins, where each came from, and plugins that failed to load."""
    found = plugins.plugin_list()
    plugins.tokenizers(), plugins.engines(), plugins.renderers()  # surfaces hook failures too
    failed = dict(plugins.state.errors)
    if as_json:
        print_json({"plugins": [{"name": p.name, "source": p.source, "hooks": list(p.hooks)} for p in found],
                    "errors": failed})
        return
    print_table("Plugins", ["name", "source", "hooks"], [(p.name, p.source, ", ".join(p.hooks)) for p in found])
    for name, problem in failed.items():
        error(f"plugin {name} failed: {problem}")


def models(as_json: Json = False) -> None:
    """List model presets, engines and tokenizers."""
    engines = sorted(plugins.engines())
    tokenizers = plugins.tokenizers()
    if as_json:
        print_json({"presets": defaults.MODEL_PRESETS, "engines": engines,
                    "tokenizers": {name: t.description for name, t in tokenizers.items()}})
        return
    print_table("Model presets", ["preset", "model"], sorted(defaults.MODEL_PRESETS.items()))
    print_table("Engines", ["engine"], [(e,) for e in engines])
    print_table("Tokenizers", ["tokenizer", "description"], [(n, t.description) for n, t in sorted(tokenizers.items())])


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins_)
    app.command()(models)
