"""plugins and models: what this installation can do."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from midicli import defaults, plugins
from midicli.cli.options import Json
from midicli.cli.output import Col, console, error, note, print_json, print_table

plugins_app = typer.Typer(
    help="Loaded plugins; `trust` lets a project's own plugin files run.",
    invoke_without_command=True,
)


@plugins_app.callback()
def plugins_(ctx: typer.Context, as_json: Json = False) -> None:
    """List loaded plugins, where each came from, plugins that failed to load and
    project plugins not run until trusted."""
    if ctx.invoked_subcommand is not None:
        return
    found = plugins.plugin_list()
    plugins.tokenizers(), plugins.engines(), plugins.renderers()  # surfaces hook failures too
    failed = dict(plugins.state.errors)
    untrusted = dict(plugins.state.untrusted)
    if as_json:
        print_json(
            {
                "plugins": [
                    {"name": p.name, "source": p.source, "hooks": list(p.hooks)} for p in found
                ],
                "errors": failed,
                "untrusted": sorted(untrusted),
            }
        )
        return
    rows = [(p.name, p.source, ", ".join(p.hooks)) for p in found]
    rows += [
        (Path(path).stem, f"midicli.toml: {path}", "not run: untrusted (`midicli plugins trust`)")
        for path in untrusted
    ]
    print_table("Plugins", ["name", "source", "hooks"], rows)
    for name, problem in failed.items():
        error(f"plugin {name} failed: {problem}")


@plugins_app.command("trust")
def trust(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Plugin files to trust (default: every untrusted plugin of this project).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Let a project's plugin files run, as they are now: an edited file needs trusting again.

    Trust is kept outside the project (under $MIDICLI_HOME), so a project cannot trust itself.
    Read the code first: a plugin runs with your permissions.
    """
    chosen = [Path(f) for f in files] if files else [Path(p) for p in plugins.state.untrusted]
    if not chosen:
        note("No untrusted plugins in this project.")
        return
    for path in chosen:
        digest = plugins.trust(path)
        console.print(f"Trusted {path.resolve()} (sha256 {digest[:12]})")


def models(as_json: Json = False) -> None:
    """List model presets (with, for those on this machine, their size, the precision
    they load in here and the expected seconds per 1,000 tokens), engines and tokenizers."""
    from midicli.engines.models import describe_local
    from midicli.engines.quantize import bandwidth_gb_s

    engines = sorted(plugins.engines())
    tokenizers = plugins.tokenizers()
    gb_s = bandwidth_gb_s()
    local = {preset: describe_local(preset, gb_s) for preset in defaults.MODEL_PRESETS}
    if as_json:
        here = {
            preset: None
            if m is None
            else {
                "size_bytes": m.size_bytes,
                "precision": m.precision,
                "seconds_per_1000_tokens": round(m.seconds_per_1000_tokens, 1),
            }
            for preset, m in local.items()
        }
        print_json(
            {
                "presets": defaults.MODEL_PRESETS,
                "here": here,
                "engines": engines,
                "tokenizers": {name: t.description for name, t in tokenizers.items()},
            }
        )
        return
    rows = []
    for preset, model in sorted(defaults.MODEL_PRESETS.items()):
        m = local[preset]
        facts = (
            (f"{m.size_bytes / 1e9:.2f} GB", m.precision, f"{m.seconds_per_1000_tokens:.0f}")
            if m
            else ("not here", "—", "—")
        )
        rows.append((preset, model, *facts))
    columns = [  # at 80 columns a long model path is cut rather than the speed dropped
        Col("preset", "keep"),
        Col("model", "cut"),
        Col("size", "keep"),
        Col("precision here", "wrap"),
        Col("s/1k tokens", "wrap"),
    ]
    print_table("Model presets", columns, rows)
    print_table("Engines", ["engine"], [(e,) for e in engines])
    print_table(
        "Tokenizers",
        ["tokenizer", "description"],
        [(n, t.description) for n, t in sorted(tokenizers.items())],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(plugins_app, name="plugins")
    app.command()(models)
