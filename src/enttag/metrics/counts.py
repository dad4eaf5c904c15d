"""The one metric core: Ent/O confusion counts, and P/R/F1, macro F1 and MCC from them.

Counts are ``[tp, fn, fp, tn]`` with Ent the positive class; per sentence they are
what a sentence bootstrap resamples. sklearn's per-class report (``report/per_class``)
prints the same figures and is these functions' test oracle.
"""

from __future__ import annotations

import numpy as np

from enttag.labels import ENT, LABELS, OUTSIDE, Seqs, check_aligned, checked, lengths

SCORES = ("ent_precision", "ent_recall", "ent_f1", "macro_f1", "mcc")


def confusion(gold: np.ndarray | Seqs, pred: np.ndarray | Seqs) -> dict[str, dict[str, int]]:
    """2x2 counts, ``{gold label: {predicted label: count}}``."""
    cell = 2 * checked(gold, "gold") + checked(pred, "pred")  # Ent = 0, O = 1
    m = np.bincount(cell, minlength=4).reshape(2, 2)
    return {LABELS[i]: {LABELS[j]: int(m[i, j]) for j in (ENT, OUTSIDE)} for i in (ENT, OUTSIDE)}


def sentence_counts(gold_seqs: Seqs, pred_seqs: Seqs) -> np.ndarray:
    """(n_sentences, 4) tp, fn, fp, tn per sentence: what a later paired bootstrap needs."""
    check_aligned(gold_seqs, pred_seqs)
    return counts_by_sentence(
        checked(gold_seqs, "gold"), checked(pred_seqs, "pred"), lengths(gold_seqs)
    )


def counts_by_sentence(gold: np.ndarray, pred: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(n_sentences, 4) tp, fn, fp, tn of flat, checked labels cut into ``sizes``."""
    sentence = np.repeat(np.arange(len(sizes)), sizes)
    cell = 2 * gold + pred  # 0 tp, 1 fn, 2 fp, 3 tn
    return np.bincount(4 * sentence + cell, minlength=4 * len(sizes)).reshape(-1, 4)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def scores(totals: np.ndarray) -> dict[str, np.ndarray]:
    """:data:`SCORES` from (..., 4) tp, fn, fp, tn totals (one set per leading index)."""
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


def point_scores(gold_seqs: Seqs, pred_seqs: Seqs) -> dict[str, float]:
    """:data:`SCORES` over all characters of aligned gold and predicted sentences."""
    return {k: float(v) for k, v in scores(sentence_counts(gold_seqs, pred_seqs).sum(0)).items()}


def ent_prf(gold_seqs: Seqs, pred_seqs: Seqs) -> dict[str, float]:
    """Precision, recall and F1 of the Ent class over all characters."""
    s = point_scores(gold_seqs, pred_seqs)
    return {k: s[k] for k in ("ent_precision", "ent_recall", "ent_f1")}
