"""The readers never crash: mutated MIDI bytes, token JSON and notes text either read
or are refused with a MidicliError (one line in the CLI). A short run of the probe in
bench/fuzz.py, which runs 12,000 cases and more."""

from __future__ import annotations

import sys

from support import REPO

sys.path.insert(0, str(REPO / "bench"))

import fuzz  # noqa: E402


def test_a_thousand_mutated_inputs_per_reader_raise_nothing_but_midicli_errors() -> None:
    tallies = fuzz.fuzz(cases=1000, seed=18)
    crashes = {name: dict(t.crashes) for name, t in tallies.items() if t.crashes}
    assert crashes == {}, crashes
    assert all(
        t.read > 0 and t.refused > 0 for t in tallies.values()
    )  # the cases reach both outcomes
