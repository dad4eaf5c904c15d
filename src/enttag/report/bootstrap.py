"""Chance-aware scores with sentence-bootstrap intervals, for one run or a pair of runs.

Intervals are percentile bootstrap intervals that resample sentences, not characters,
with replacement: characters of one sentence are not independent, and resampling them
one by one would make the intervals too narrow. A comparison of two systems resamples
the same sentences for both (a paired bootstrap): "A beats B" is ``yes`` when the 95%
interval of the Ent F1 difference lies entirely above 0, ``no`` when entirely below,
``not distinguishable`` when it straddles 0 (two overlapping per-run intervals are
no such test).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enttag.labels import Seqs, check_aligned, checked, lengths
from enttag.metrics.counts import confusion, counts_by_sentence, scores

BEATS = ("yes", "no", "not distinguishable")


def beats(diff_ci: list[float]) -> str:
    """``yes``, ``no`` or ``not distinguishable``: the difference's interval above, below
    or across 0."""
    lo, hi = diff_ci
    return BEATS[0] if lo > 0 else BEATS[1] if hi < 0 else BEATS[2]


def _draws(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n): how often each of n rows is drawn, n draws with replacement a row."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)])


def _resample(counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) column totals of ``counts`` rows drawn with replacement, n rows a draw."""
    return _draws(len(counts), n_boot, seed) @ counts


def _ci(values: np.ndarray, alpha: float) -> list[float]:
    """Percentile interval ``[lo, hi]`` holding 1 - alpha of ``values``."""
    return [float(q) for q in np.quantile(values, [alpha / 2, 1 - alpha / 2])]


def paired_f1_diff(
    counts: np.ndarray, other: np.ndarray, *, n_boot: int, seed: int, alpha: float = 0.05
) -> dict[str, Any]:
    """Ent F1 of one system minus another's from their per-sentence :func:`sentence_counts`.

    Both are scored on the same resampled sentences; the draws equal those of
    :func:`summary` with the same ``n_boot`` and ``seed`` on the same sentences.
    """
    if counts.shape != other.shape or counts.ndim != 2 or counts.shape[1] != 4:
        raise ValueError(
            f"need two (n, 4) count arrays of one shape, got {counts.shape} and {other.shape}"
        )
    boot = _resample(np.hstack([counts, other]), n_boot, seed)
    return _lift(np.hstack([counts.sum(axis=0), other.sum(axis=0)]), boot, alpha)


def pooled_f1_diff(
    runs: list[np.ndarray],
    others: list[np.ndarray],
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Mean Ent F1 of one group of runs minus another's, from their per-sentence counts.

    The runs of a group differ only in their training seed. A hierarchical bootstrap:
    each draw resamples the runs of each group with replacement, then one set of
    sentences for every run, so the interval holds retrain noise as well as test-set
    sampling. With one run each it is :func:`paired_f1_diff`, draw for draw.
    """
    arrays = [np.asarray(c) for c in (*runs, *others)]
    if not runs or not others:
        raise ValueError("need at least one run in each group")
    shape = arrays[0].shape
    if len(shape) != 2 or shape[1] != 4 or any(a.shape != shape for a in arrays):
        raise ValueError(f"need (n, 4) count arrays of one shape, got {[a.shape for a in arrays]}")
    weights = _draws(shape[0], n_boot, seed)
    f1 = np.stack([scores(weights @ a)["ent_f1"] for a in arrays], axis=1)  # (n_boot, runs)
    rng = np.random.default_rng([seed, 1])  # seed draws, apart from the sentence draws
    k = len(runs)
    rows = np.arange(n_boot)[:, None]
    mine = f1[rows, rng.integers(0, k, (n_boot, k))].mean(axis=1)
    theirs = f1[rows, k + rng.integers(0, len(others), (n_boot, len(others)))].mean(axis=1)
    point = [float(scores(a.sum(axis=0))["ent_f1"]) for a in arrays]
    interval = _ci(mine - theirs, alpha)
    return {
        "ent_f1_diff": float(np.mean(point[:k]) - np.mean(point[k:])),
        "ci": interval,
        "beats": beats(interval),
        "n": [k, len(others)],
    }


def _lift(totals: np.ndarray, boot: np.ndarray, alpha: float) -> dict[str, Any]:
    """The Ent F1 difference of columns 0-3 minus 4-7, its interval and ``beats``."""
    diff = scores(boot[:, :4])["ent_f1"] - scores(boot[:, 4:])["ent_f1"]
    interval = _ci(diff, alpha)
    return {
        "ent_f1_diff": float(scores(totals[:4])["ent_f1"] - scores(totals[4:])["ent_f1"]),
        "ci": interval,
        "beats": beats(interval),
    }


def summary(
    gold_seqs: Seqs,
    pred_seqs: Seqs,
    *,
    n_boot: int,
    seed: int,
    baseline_seqs: Seqs | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Point scores, chance reference and sentence-bootstrap intervals for one run.

    ``baseline_seqs`` (another run's predictions on the same gold) adds
    ``baseline_lift``: this run's Ent F1 minus the baseline's, with an interval taken
    over the same resampled sentences, and ``beats_baseline`` (:func:`beats` of it).
    """
    if n_boot < 1 or not 0 < alpha < 1:
        raise ValueError("need n_boot >= 1 and 0 < alpha < 1")
    check_aligned(gold_seqs, pred_seqs)
    gold, pred = checked(gold_seqs, "gold"), checked(pred_seqs, "pred")
    if not gold.size:
        raise ValueError("no characters to score")
    sizes = lengths(gold_seqs)
    counts = counts_by_sentence(gold, pred, sizes)
    if baseline_seqs is not None:
        check_aligned(gold_seqs, baseline_seqs, "baseline")
        base = counts_by_sentence(gold, checked(baseline_seqs, "baseline"), sizes)
        counts = np.hstack([counts, base])
    totals = counts.sum(axis=0)
    boot = _resample(counts, n_boot, seed)
    point = {k: float(v) for k, v in scores(totals[:4]).items()}
    dist = scores(boot[:, :4])
    tp, fn, fp, _ = (int(t) for t in totals[:4])
    ent_share = (tp + fn) / gold.size
    out: dict[str, Any] = {
        "n_sentences": len(sizes),
        "n_chars": int(gold.size),
        "confusion": confusion(gold, pred),
        "ent_share": ent_share,
        "pred_ent_share": (tp + fp) / gold.size,
        **point,
        "ent_precision_lift": point["ent_precision"] - ent_share,
        **{f"{k}_ci": _ci(dist[k], alpha) for k in ("ent_f1", "macro_f1", "mcc", "ent_precision")},
    }
    if baseline_seqs is not None:
        lift = _lift(totals, boot, alpha)
        out["beats_baseline"] = lift.pop("beats")
        out["baseline_lift"] = lift
    return out
