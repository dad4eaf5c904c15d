"""Seed groups: the hierarchical bootstrap on constructed per-sentence counts, the
grouping of runs, and sweeps repeated over seeds (end to end: test_experiments.py)."""

from __future__ import annotations

import numpy as np
import pytest

from enttag.cli import parser
from enttag.errors import EnttagError
from enttag.experiments.journal import journal_text
from enttag.experiments.runs import Run
from enttag.experiments.seeds import (
    SINGLE,
    group_lines,
    group_table,
    lift_spread,
    seed_groups,
    tally,
    versus,
)
from enttag.experiments.sweep import grid, run, shard, to_queue, with_seeds
from enttag.metrics.counts import sentence_counts
from enttag.report.bootstrap import paired_f1_diff, pooled_f1_diff

N_BOOT, SEED = 1000, 0


@pytest.fixture(scope="module")
def gold() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.random(rng.integers(5, 40)) < 0.3).astype(np.int64) for _ in range(300)]


def counts(gold: list[np.ndarray], rate: float, seed: int) -> np.ndarray:
    """Per-sentence counts of a run that flips a share ``rate`` of the gold labels."""
    rng = np.random.default_rng(seed)
    return sentence_counts(gold, [np.where(rng.random(len(g)) < rate, 1 - g, g) for g in gold])


def pooled(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    return pooled_f1_diff(a, b, n_boot=N_BOOT, seed=SEED)


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    return paired_f1_diff(a, b, n_boot=N_BOOT, seed=SEED)


def test_differences_that_change_sign_over_seeds_are_not_distinguishable(gold):
    """Seed 0 of A is far better than seed 0 of B, seed 1 far worse than seed 1."""
    a = [counts(gold, 0.04, 1), counts(gold, 0.16, 2)]
    b = [counts(gold, 0.09, 11), counts(gold, 0.11, 12)]
    assert paired(a[0], b[0])["beats"] == "yes"  # one single-run comparison says yes
    assert paired(a[1], b[1])["beats"] == "no"
    assert pooled(a, b)["beats"] == "not distinguishable"


def test_a_difference_consistent_over_seeds_is_yes_and_holds_the_single_runs(gold):
    a = [counts(gold, 0.06, 1), counts(gold, 0.08, 2)]
    b = [counts(gold, 0.12, 11), counts(gold, 0.14, 12)]
    both = pooled(a, b)
    assert both["beats"] == "yes" and both["n"] == [2, 2]
    f1 = [paired(a[0], b[0]), paired(a[1], b[1])]
    assert both["ent_f1_diff"] == pytest.approx(np.mean([d["ent_f1_diff"] for d in f1]))
    lo, hi = both["ci"]
    for single in f1:  # each seed's own paired interval lies inside the pooled one
        assert lo <= single["ci"][0] and single["ci"][1] <= hi
        assert hi - lo >= single["ci"][1] - single["ci"][0]


def test_one_run_each_is_the_paired_bootstrap_draw_for_draw(gold):
    a, b = counts(gold, 0.06, 1), counts(gold, 0.12, 11)
    one = pooled([a], [b])
    assert one["ci"] == paired(a, b)["ci"] and one["ent_f1_diff"] == paired(a, b)["ent_f1_diff"]


def test_pooled_refuses_other_sentences_or_an_empty_group(gold):
    a = counts(gold, 0.06, 1)
    with pytest.raises(ValueError, match="one shape"):
        pooled([a], [a[:-1]])
    with pytest.raises(ValueError, match="at least one run"):
        pooled([a], [])


def run_of(name, seed, changed, f1, c=None, verdict="learned", beats="yes", rev=None) -> Run:
    params = {"train.seed": seed, "train.head_lr": changed.get("train.head_lr", 0.001)}
    test = {"ent_f1": f1, "verdict": verdict, "beats_baseline": beats, "lift": f1 - 0.69}
    test |= {"ent_precision": f1, "ent_recall": f1, "macro_f1": f1}
    return Run(name, rev or name, "main", "success", changed, test, counts=c, params=params)


@pytest.fixture
def runs(gold) -> list[Run]:
    h = {"train.head_lr": 0.01}
    return [
        run_of("main", 0, {}, 0.70, counts(gold, 0.12, 11)),
        run_of("base-s0", 0, {}, 0.70, counts(gold, 0.12, 11), rev="x"),  # main's params again
        run_of("base-s1", 1, {"train.seed": 1}, 0.68, counts(gold, 0.14, 12), beats="no"),
        run_of("h-s0", 0, h, 0.80, counts(gold, 0.06, 1)),
        run_of("h-s1", 1, {**h, "train.seed": 1}, 0.78, counts(gold, 0.08, 2)),
        run_of("h-s2", 2, {**h, "train.seed": 2}, 0.79, counts(gold, 0.07, 3), verdict="chance"),
        run_of("other", 0, {"train.ent_weight": 4}, 0.5, counts(gold, 0.3, 4)),
        run_of("other-s1", 1, {"train.ent_weight": 4.0, "train.seed": 1}, 0.5, rev="o1"),
        Run("queued-s3", "q", "main", "queued", {**h, "train.seed": 3}, {}),
    ]


def test_seed_groups_pool_runs_that_differ_only_in_the_seed(runs):
    groups = seed_groups(runs)
    assert [(g.name, g.n, g.seeds) for g in groups] == [
        ("h", 3, [0, 1, 2]),
        ("main / base", 2, [0, 1]),  # base-s0 is main again: one run of seed 0
        ("other", 2, [0, 1]),  # 4 and 4.0: one value
    ]
    h, base, other = groups
    assert h.mean == pytest.approx(0.79) and h.spread() == "0.7900 (min–max 0.7800–0.8000, n=3)"
    assert other.spread() == "0.5000 (min–max 0.5000–0.5000, n=2)"
    assert versus(other, h) == "n/a (no per-sentence counts)"  # other-s1 has none
    assert tally(h, "verdict") == "learned in 2, chance in 1 of 3 seeds"
    assert tally(base, "beats_baseline") == "yes in 1, no in 1 of 2 seeds"
    single = seed_groups(runs[:1])[0]
    assert single.spread() == "0.7000 (n=1)" and tally(single, "verdict") == "learned (1 seed)"
    assert lift_spread(h) == ", lift mean +0.1000 (min–max +0.0900–+0.1100)"
    assert lift_spread(single) == ", lift +0.0100"
    assert versus(h, h) == "best"
    assert versus(base, h).startswith("worse: -0.") and versus(base, h).endswith("(2 vs 3 seeds)")
    lines = group_lines(groups)
    assert len(lines) == 3 and "n=3" in lines[0] and "n=2" in lines[1]
    assert "| main / base | 0, 1 | 0.6900 (min–max 0.6800–0.7000, n=2) |" in group_table(groups)


def test_single_runs_are_labelled_and_need_counts(runs):
    one, two = (seed_groups([r])[0] for r in (runs[0], runs[6]))
    assert versus(two, one).endswith(f"({SINGLE})")
    blind = run_of("blind", 0, {"train.head_lr": 0.2}, 0.1)
    blind.test.pop("lift")
    blind = seed_groups([blind])[0]
    assert versus(blind, one) == "n/a (no per-sentence counts)"
    assert lift_spread(blind) == ""


def test_journal_opens_with_the_seed_groups(runs):
    text = journal_text(runs, {r.rev: (None, None) for r in runs})
    groups = text.split("## Seed groups\n", 1)[1].split("## Runs\n", 1)[0]
    assert "| h | 0, 1, 2 | 0.7900 (min–max 0.7800–0.8000, n=3) |" in groups
    assert "hierarchical bootstrap" in groups
    assert "one run each: retrain noise not measured" in text.split("## Runs\n", 1)[1]


def test_with_seeds_names_every_point_once_per_seed():
    points = with_seeds(grid(["1", "10"], ["1e-3"], "1e-5"), ["0", "1", "0"])
    names = ["w1-h1e-3-s0", "w1-h1e-3-s1", "w10-h1e-3-s0", "w10-h1e-3-s1"]
    assert [p.name for p in points] == names
    assert points[1].assignments[-1] == "train.seed=1"
    assert [p.name for p in shard(points, "2/2")] == ["w1-h1e-3-s1", "w10-h1e-3-s1"]
    done = [Run("w1-h1e-3-s0", "a", "main", "success", {}, {"ent_f1": 0.5})]
    assert [p.name for p in to_queue(points, done)] == [p.name for p in points[1:]]
    with pytest.raises(EnttagError, match="seed '-1'"):
        with_seeds(points, ["-1"])


def test_seed_arguments_and_the_seed_only_sweep(monkeypatch):
    monkeypatch.setenv("SWEEP_SEEDS", "0 2")
    monkeypatch.delenv("SWEEP_SEEDS_ONLY", raising=False)
    args = parser().parse_args(["sweep"])
    assert args.seeds == ["0", "2"] and not args.seeds_only
    assert parser().parse_args(["sweep", "--seeds", "5", "--seeds-only"]).seeds == ["5"]
    monkeypatch.setenv("SWEEP_SEEDS_ONLY", "1")
    queued = []
    monkeypatch.setattr(
        "enttag.experiments.sweep.sweep", lambda points, *rest: queued.extend(points) or 0
    )
    assert run(parser().parse_args(["sweep"])) == 0
    assert [(p.name, p.assignments) for p in queued] == [
        ("base-s0", ("train.seed=0",)),
        ("base-s2", ("train.seed=2",)),
    ]
    monkeypatch.setenv("SWEEP_SEEDS", "")
    with pytest.raises(EnttagError, match="--seeds-only needs --seeds"):
        run(parser().parse_args(["sweep"]))
