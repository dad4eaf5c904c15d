"""Paired comparisons: ``beats_baseline`` against a plain loop bootstrap written here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from enttag.metrics.counts import sentence_counts
from enttag.report.bootstrap import beats, paired_f1_diff, summary

N_BOOT, SEED = 100, 7


def noisy(gold: list[np.ndarray], rate: float, seed: int) -> list[np.ndarray]:
    """``gold`` with a share ``rate`` of labels flipped at random."""
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(len(g)) < rate, 1 - g, g) for g in gold]


@pytest.fixture(scope="module")
def gold() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.random(rng.integers(5, 40)) < 0.7).astype(np.int64) for _ in range(150)]


def loop_bootstrap(gold, pred, base) -> tuple[float, list[float]]:
    """Ent F1 of pred minus base, and its 95% percentile interval, one draw at a time.

    Ent is label 0 (``LABELS = ("Ent", "O")``); the draws are the same sentence
    indices ``summary`` takes (numpy's default_rng(seed), n of n per draw).
    """

    def f1(idx, seqs):
        return f1_score(
            np.concatenate([gold[i] for i in idx]),
            np.concatenate([seqs[i] for i in idx]),
            pos_label=0,
            zero_division=0,
        )

    rng = np.random.default_rng(SEED)
    everything = range(len(gold))
    diffs = []
    for _ in range(N_BOOT):
        idx = rng.integers(0, len(gold), len(gold))
        diffs.append(f1(idx, pred) - f1(idx, base))
    return f1(everything, pred) - f1(everything, base), list(np.quantile(diffs, [0.025, 0.975]))


@pytest.mark.parametrize(
    ("pred_rate", "base_rate", "expected"),
    [(0.03, 0.25, "yes"), (0.25, 0.03, "no"), (0.12, 0.12, "not distinguishable")],
    ids=["clearly-better", "clearly-worse", "tied"],
)
def test_beats_baseline_matches_a_loop_bootstrap(gold, pred_rate, base_rate, expected):
    pred, base = noisy(gold, pred_rate, 1), noisy(gold, base_rate, 2)
    diff, interval = loop_bootstrap(gold, pred, base)
    expect = "yes" if interval[0] > 0 else "no" if interval[1] < 0 else "not distinguishable"
    assert expect == expected  # the constructed case is what its name says
    s = summary(gold, pred, n_boot=N_BOOT, seed=SEED, baseline_seqs=base)
    assert s["beats_baseline"] == expected
    assert s["baseline_lift"]["ent_f1_diff"] == pytest.approx(diff, abs=1e-12)
    assert s["baseline_lift"]["ci"] == pytest.approx(interval, abs=1e-12)
    counts = paired_f1_diff(
        sentence_counts(gold, pred), sentence_counts(gold, base), n_boot=N_BOOT, seed=SEED
    )
    assert counts == {
        "ent_f1_diff": pytest.approx(diff),
        "ci": pytest.approx(interval),
        "beats": expected,
    }


def test_identical_systems_are_not_distinguishable(gold):
    pred = noisy(gold, 0.1, 3)
    assert summary(gold, pred, n_boot=50, seed=0, baseline_seqs=pred)["beats_baseline"] == (
        "not distinguishable"
    )


def test_beats_reads_the_interval_of_the_difference():
    assert [beats([0.01, 0.2]), beats([-0.2, -0.01]), beats([-0.01, 0.2])] == [
        "yes",
        "no",
        "not distinguishable",
    ]
    assert beats([0.0, 0.1]) == "not distinguishable"  # touching 0 is not above it
