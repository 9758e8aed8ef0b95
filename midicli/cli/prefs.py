"""pick, prefer, rate and prefs: recording which candidates the user liked."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from midicli.cli import context
from midicli.cli.options import Json, Ref
from midicli.cli.output import console, note, print_json, print_table
from midicli.project import preferences
from midicli.project.records import PreferenceRecord


def preference_json(p: PreferenceRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "chosen": p.chosen,
        "rejected": p.rejected,
        "source": p.source,
        "model": p.model,
        "model_hash": p.model_hash,
        "created": p.created,
        "prompt_tokens": len(p.prompt_ids),
        "chosen_tokens": len(p.chosen_ids),
        "rejected_tokens": len(p.rejected_ids),
        "removed": [
            ref
            for ref, id_ in ((p.chosen, p.chosen_id), (p.rejected, p.rejected_id))
            if id_ is None
        ],
    }


def _recorded(records: list[PreferenceRecord], as_json: bool) -> None:
    if as_json:
        print_json({"recorded": [preference_json(p) for p in records]})
        return
    for p in records:
        console.print(f"Recorded #{p.id}: [bold]{p.chosen}[/bold] over {p.rejected}")
    if not records:
        note("Nothing new to record.")


def pick(ref: Ref, as_json: Json = False) -> None:
    """Mark the best of its candidates: preferred over each sibling from the same request.

    Example: [bold]midicli pick calm-waltz-3[/bold]
    """
    _recorded(preferences.pick(context.session.project(), ref), as_json)


def prefer(
    better: Annotated[
        str, typer.Argument(help="The version you like more: NAME or NAME@N.", show_default=False)
    ],
    worse: Annotated[
        str,
        typer.Argument(help="The one you like less (same prompt and context).", show_default=False),
    ],
    as_json: Json = False,
) -> None:
    """Record that one version is better than another written from the same prompt.

    Example: [bold]midicli prefer song@3 song@4[/bold]
    """
    _recorded([preferences.prefer(context.session.project(), better, worse)], as_json)


def rate(
    ref: Ref,
    stars: Annotated[int, typer.Argument(help="1 (worst) to 5 (best).", show_default=False)],
    as_json: Json = False,
) -> None:
    """Rate a version 1–5: of two rated versions of the same prompt, the higher counts as preferred.

    Example: [bold]midicli rate calm-waltz-2 4[/bold]
    """
    project = context.session.project()
    records = preferences.rate(project, ref, stars)
    if as_json or records:
        _recorded(records, as_json)
        return
    console.print(
        f"Rated [bold]{project.resolve(ref).ref}[/bold] {stars} of 5. It becomes a preference when "
        "another "
        "version from the same prompt gets a different rating."
    )


prefs_app = typer.Typer(
    help="List recorded preferences (`prefs`) or remove one (`prefs rm ID`).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@prefs_app.callback()
def prefs(ctx: typer.Context, as_json: Json = False) -> None:
    """List recorded preferences, oldest first."""
    if ctx.invoked_subcommand is not None:
        return
    records = context.session.project().preferences()
    if as_json:
        print_json([preference_json(p) for p in records])
        return
    if not records:
        note(
            "No preferences yet: `midicli pick REF` marks the best candidate, `midicli prefer A B` "
            "compares two."
        )
        return
    print_table(
        None,
        ["id", "chosen", "over", "source", "created"],
        [
            (
                p.id,
                p.chosen + (" (removed)" if p.chosen_id is None else ""),
                p.rejected + (" (removed)" if p.rejected_id is None else ""),
                p.source,
                p.created[:16].replace("T", " "),
            )
            for p in records
        ],
    )


@prefs_app.command("rm")
def remove(
    preference_id: Annotated[
        int, typer.Argument(metavar="ID", help="The preference's id (see `midicli prefs`).")
    ],
) -> None:
    """Remove one preference."""
    context.session.project().remove_preference(preference_id)
    console.print(f"Removed preference #{preference_id}")


def register(app: typer.Typer) -> None:
    app.command()(pick)
    app.command()(prefer)
    app.command()(rate)
    app.add_typer(prefs_app, name="prefs")
