"""End to end: a 2-point x 2-seed sweep on the tiny pipeline, resumed, then `make compare`
and `make journal` pool it into two groups of two seeds.

The first point has the committed params, so its seed-0 run is the commit again (DVC
restores it from the run cache) and counts once: three trainings in all.
"""

from __future__ import annotations

import re

import pytest
from support.process import make

pytestmark = pytest.mark.slow

SEED_SWEEP = {  # w1-h1e-3 with encoder lr 1e-4 is the committed params.yaml
    "SWEEP_WEIGHTS": "1",
    "SWEEP_HEAD_LRS": "1e-3 1e-2",
    "SWEEP_ENCODER_LR": "1e-4",
    "SWEEP_SEEDS": "0 1",
}
POINTS = ["w1-h1e-3-s0", "w1-h1e-3-s1", "w1-h1e-2-s0", "w1-h1e-2-s1"]


def test_seed_sweep_then_compare_and_journal_show_two_groups_of_two(tiny_repo):
    out = make(tiny_repo, "sweep", **SEED_SWEEP)
    assert re.findall(r"dvc exp run --queue -n (\S+)", out) == POINTS
    assert out.count("-S train.seed=1") == 2 and "all 4 grid points finished" in out
    again = make(tiny_repo, "sweep", **SEED_SWEEP)  # resumed: nothing queued again
    assert "dvc exp run --queue" not in again
    assert all(f"{name}: already finished" in again for name in POINTS)

    compare = make(tiny_repo, "compare")
    header = next(line for line in compare.splitlines() if line.startswith("| Experiment"))
    assert "beats_baseline" in header and "train.seed" in header
    groups = compare.split("\nRuns that differ only in train.seed: ", 1)[1].splitlines()[2:]
    assert len(groups) == 2 and all("n=2)" in g for g in groups), groups
    names = sorted(g.split()[0] for g in groups)
    assert names == ["main", "w1-h1e-2"]  # main = w1-h1e-3-s0 once; its seed 1 joins it
    best, other = groups
    assert re.search(r"\(min–max 0\.\d{4}–0\.\d{4}, n=2\)  best; verdict: ", best)
    assert re.search(r": [+-]\d\.\d{4} \[-?\d\.\d{4}, -?\d\.\d{4}\] \(2 vs 2 seeds\)", other)
    assert re.search(r"beats baseline: .* of 2 seeds, lift mean [+-]\d\.\d{4} \(min–max ", other)

    make(tiny_repo, "journal")
    journal = (tiny_repo / "EXPERIMENTS.md").read_text(encoding="utf-8")
    table = journal.split("## Seed groups\n", 1)[1].split("## Runs\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "n=2)" in line]
    assert len(rows) == 2 and all("| 0, 1 |" in row for row in rows)
