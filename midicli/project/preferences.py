"""pick, prefer and rate: recording which of the model's own outputs the user liked.

A judgement compares two continuations of the same prompt (same words, and for
continue and infill the same surrounding music), so it is only recorded between
versions whose manifests hold identical prompt ids; the ids are copied into the
record because that is what DPO trains on.
"""

from __future__ import annotations

from midicli.errors import TuningError
from midicli.project import Project
from midicli.project.records import NewPreference, PreferenceRecord, VersionRecord


def generated_ids(record: VersionRecord) -> tuple[list[int], list[int]]:
    """The prompt and generated ids the model saw and wrote for ``record``."""
    prompt, generated = record.manifest.get("prompt_ids"), record.manifest.get("generated_ids")
    if not prompt or generated is None:
        raise TuningError(
            f"{record.ref} was not written by a model ({record.operation}): only generated "
            "versions can be preferred"
        )
    return prompt, generated


def same_context(a: VersionRecord, b: VersionRecord) -> bool:
    return a.manifest.get("prompt_ids") == b.manifest.get("prompt_ids")


def judgement(chosen: VersionRecord, rejected: VersionRecord, source: str) -> NewPreference:
    prompt, chosen_ids = generated_ids(chosen)
    _, rejected_ids = generated_ids(rejected)
    return NewPreference(chosen, rejected, source, prompt, chosen_ids, rejected_ids)


def pick(project: Project, ref: str) -> list[PreferenceRecord]:
    """``ref`` is the best of its candidates: preferred over each sibling from the same request."""
    chosen = project.resolve(ref)
    generated_ids(chosen)
    siblings = [
        s
        for s in project.siblings(chosen)
        if same_context(s, chosen) and s.manifest.get("generated_ids") is not None
    ]
    if not siblings:
        raise TuningError(
            f"{chosen.ref} has no sibling candidates to be preferred over: use `midicli prefer A B`"
        )
    return project.add_preferences([judgement(chosen, other, "pick") for other in siblings])


def prefer(project: Project, better: str, worse: str) -> PreferenceRecord:
    """``better`` over ``worse``; both must continue the very same prompt."""
    chosen, rejected = project.resolve(better), project.resolve(worse)
    if chosen.id == rejected.id:
        raise TuningError(f"{chosen.ref} cannot be preferred over itself")
    new = judgement(chosen, rejected, "prefer")
    if not same_context(chosen, rejected):
        raise TuningError(
            f"{chosen.ref} and {rejected.ref} were not written from the same prompt (words and "
            "surrounding music): "
            "only candidates of the same request can be compared"
        )
    [record] = project.add_preferences([new])
    return record


def rate(project: Project, ref: str, stars: int) -> list[PreferenceRecord]:
    """1–5 stars for ``ref``; against every other rated version of the same prompt the
    higher rating is recorded as preferred (equal ratings imply nothing)."""
    if not 1 <= stars <= 5:
        raise TuningError(f"a rating is 1 to 5 stars, not {stars}")
    record = project.resolve(ref)
    generated_ids(record)
    implied = [
        judgement(record, other, "rating") if stars > theirs else judgement(other, record, "rating")
        for other, theirs in project.ratings()
        if other.id != record.id and theirs != stars and same_context(other, record)
    ]
    return project.rate(record, stars, implied)
