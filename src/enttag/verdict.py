"""Did the model learn anything? Chance-aware scores and a verdict for Ent/O tagging.

Label ids: 0 = Ent, 1 = O. Gold and predictions are one int array per sentence;
every character is scored, so both must hold only 0 and 1.

A tagger that guesses independently of the text has Ent precision equal to the Ent
share of the data and MCC 0, however many Ent it predicts: with a 20% Ent share that
is Ent precision 0.20 and macro F1 near 0.50, which look like numbers but mean nothing.

Verdict rules, applied in order to a :func:`summary`:

1. ``collapsed`` if one class is predicted for at least 99% of the scored
   characters: ``max(pred_ent_share, 1 - pred_ent_share) >= 0.99``.
2. ``chance`` if the MCC confidence interval includes 0 (``mcc_ci[0] <= 0``), or
   Ent precision is within the noise of the Ent share
   (``ent_precision_ci[0] <= ent_share``). A model reliably worse than chance
   (MCC interval below 0) is ``chance`` too.
3. ``learned`` otherwise.

Intervals are percentile bootstrap intervals that resample sentences, not characters,
with replacement: characters of one sentence are not independent, and resampling them
one by one would make the intervals too narrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, matthews_corrcoef

from enttag.corpus import LABELS

ENT, OUTSIDE = LABELS.index("Ent"), LABELS.index("O")
COLLAPSE_SHARE = 0.99

Seqs = Sequence[np.ndarray]


def flatten(seqs: np.ndarray | Seqs) -> np.ndarray:
    """All characters in one flat array (an array is raveled, sentences concatenated)."""
    if isinstance(seqs, np.ndarray):
        return seqs.ravel()
    return np.concatenate([np.ravel(s) for s in seqs]) if len(seqs) else np.empty(0, int)


def lengths(seqs: Seqs) -> np.ndarray:
    """Number of characters in each sentence."""
    return np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))


def check_aligned(gold_seqs: Seqs, other_seqs: Seqs, name: str = "pred") -> None:
    """Raise ValueError unless both hold as many sentences, each of the same length."""
    if len(gold_seqs) != len(other_seqs):
        raise ValueError(f"{len(gold_seqs)} gold sentences but {len(other_seqs)} {name}")
    bad = np.flatnonzero(lengths(gold_seqs) != lengths(other_seqs))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"sentence {i}: {len(gold_seqs[i])} gold labels but {len(other_seqs[i])} {name}"
        )


def _labels(seqs: np.ndarray | Seqs, name: str) -> np.ndarray:
    """Flat labels, checked to be Ent (0) or O (1)."""
    flat = flatten(seqs)
    if not np.isin(flat, (ENT, OUTSIDE)).all():
        raise ValueError(f"{name} labels must be {ENT} (Ent) or {OUTSIDE} (O)")
    return flat


def confusion(gold: np.ndarray | Seqs, pred: np.ndarray | Seqs) -> dict[str, dict[str, int]]:
    """2x2 counts, ``{gold label: {predicted label: count}}``."""
    m = confusion_matrix(_labels(gold, "gold"), _labels(pred, "pred"), labels=[ENT, OUTSIDE])
    return {LABELS[i]: {LABELS[j]: int(m[i, j]) for j in (ENT, OUTSIDE)} for i in (ENT, OUTSIDE)}


def _sentence_counts(gold: np.ndarray, pred: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(n_sentences, 4) counts of tp, fn, fp, tn per sentence, Ent being positive."""
    sentence = np.repeat(np.arange(len(sizes)), sizes)
    cell = 2 * gold + pred  # 0 tp, 1 fn, 2 fp, 3 tn
    return np.bincount(4 * sentence + cell, minlength=4 * len(sizes)).reshape(-1, 4)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _scores(totals: np.ndarray) -> dict[str, np.ndarray]:
    """Ent precision, recall, F1, macro F1 and MCC from (..., 4) tp, fn, fp, tn totals."""
    tp, fn, fp, tn = np.moveaxis(np.asarray(totals, dtype=float), -1, 0)
    ent_f1 = _div(2 * tp, 2 * tp + fp + fn)
    o_f1 = _div(2 * tn, 2 * tn + fp + fn)
    return {
        "ent_precision": _div(tp, tp + fp),
        "ent_recall": _div(tp, tp + fn),
        "ent_f1": ent_f1,
        "macro_f1": (ent_f1 + o_f1) / 2,
        "mcc": _div(tp * tn - fp * fn, np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))),
    }


def _resample(counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) column totals of ``counts`` rows drawn with replacement, n rows a draw."""
    rng = np.random.default_rng(seed)
    n = len(counts)
    return np.stack(
        [np.bincount(rng.integers(0, n, n), minlength=n) @ counts for _ in range(n_boot)]
    )


def _ci(values: np.ndarray, alpha: float) -> list[float]:
    """Percentile interval ``[lo, hi]`` holding 1 - alpha of ``values``."""
    return [float(q) for q in np.quantile(values, [alpha / 2, 1 - alpha / 2])]


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
    over the same resampled sentences.
    """
    if n_boot < 1 or not 0 < alpha < 1:
        raise ValueError("need n_boot >= 1 and 0 < alpha < 1")
    check_aligned(gold_seqs, pred_seqs)
    gold, pred = _labels(gold_seqs, "gold"), _labels(pred_seqs, "pred")
    if not gold.size:
        raise ValueError("no characters to score")
    sizes = lengths(gold_seqs)
    counts = _sentence_counts(gold, pred, sizes)
    if baseline_seqs is not None:
        check_aligned(gold_seqs, baseline_seqs, "baseline")
        base = _sentence_counts(gold, _labels(baseline_seqs, "baseline"), sizes)
        counts = np.hstack([counts, base])
    totals = counts.sum(axis=0)
    boot = _resample(counts, n_boot, seed)
    point = {k: float(v) for k, v in _scores(totals[:4]).items()}
    dist = _scores(boot[:, :4])
    tp, fn, fp, _ = (int(t) for t in totals[:4])
    ent_share = (tp + fn) / gold.size
    out: dict[str, Any] = {
        "n_sentences": len(sizes),
        "n_chars": int(gold.size),
        "confusion": confusion(gold, pred),
        "ent_share": ent_share,
        "pred_ent_share": (tp + fp) / gold.size,
        **point,
        "mcc": float(matthews_corrcoef(gold, pred)),
        "ent_precision_lift": point["ent_precision"] - ent_share,
        **{f"{k}_ci": _ci(dist[k], alpha) for k in ("ent_f1", "macro_f1", "mcc", "ent_precision")},
    }
    if baseline_seqs is not None:
        diff = dist["ent_f1"] - _scores(boot[:, 4:])["ent_f1"]
        out["baseline_lift"] = {
            "ent_f1_diff": point["ent_f1"] - float(_scores(totals[4:])["ent_f1"]),
            "ci": _ci(diff, alpha),
        }
    return out


def verdict(s: Mapping[str, Any]) -> str:
    """``collapsed``, ``chance`` or ``learned`` by the rules in the module docstring.

    Needs ``pred_ent_share``, ``ent_share``, ``mcc_ci`` and ``ent_precision_ci``.
    """
    if max(s["pred_ent_share"], 1 - s["pred_ent_share"]) >= COLLAPSE_SHARE:
        return "collapsed"
    if s["mcc_ci"][0] <= 0 or s["ent_precision_ci"][0] <= s["ent_share"]:
        return "chance"
    return "learned"


def _fmt(value: float, ci: Sequence[float]) -> str:
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def explain(v: str, s: Mapping[str, Any]) -> str:
    """One line saying why ``s`` (a :func:`summary`) gets verdict ``v``."""
    if v != verdict(s):
        raise ValueError(f"verdict {v!r} does not follow from this summary")
    if v == "collapsed":
        ent = s["pred_ent_share"]
        cls, frac = ("Ent", ent) if ent >= 0.5 else ("O", 1 - ent)
        return f"collapsed: {frac:.1%} of characters are predicted {cls}; it predicts one class"
    precision = f"Ent precision {_fmt(s['ent_precision'], s['ent_precision_ci'])}"
    mcc = f"MCC {_fmt(s['mcc'], s['mcc_ci'])}"
    share = f"the Ent share {s['ent_share']:.3f}"
    if v == "chance":
        reasons = []
        if s["ent_precision_ci"][0] <= s["ent_share"]:
            reasons.append(f"{precision} is within noise of {share}")
        if s["mcc_ci"][0] <= 0:
            reasons.append(f"{mcc} includes 0")
        return f"chance: {' and '.join(reasons)}; the model learned nothing"
    return f"learned: {precision} is above {share} and {mcc} is above 0"
