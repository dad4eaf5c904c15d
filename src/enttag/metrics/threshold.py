"""Choosing the P(Ent) threshold: precision-recall curve and the F1-best cut.

A character is predicted Ent (0) when its P(Ent) is at least the threshold ``t``,
else O (1). Gold and probabilities are flat arrays or one array per sentence.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from enttag.errors import EnttagError
from enttag.labels import ENT, Seqs, flatten


def _curve(
    gold: np.ndarray | Seqs, p_ent: np.ndarray | Seqs
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's Ent precision, recall (each without its final 1, 0 point) and thresholds."""
    is_ent = flatten(gold) == ENT
    if not is_ent.any():
        raise EnttagError(
            "the gold labels hold no Ent character, so no P(Ent) cut can be chosen "
            "(prepare refuses a dev split without one: was data/prepared edited?)"
        )
    precision, recall, thresholds = precision_recall_curve(is_ent, flatten(p_ent))
    return precision[:-1], recall[:-1], thresholds


def pr_curve(
    gold: np.ndarray | Seqs, p_ent: np.ndarray | Seqs, max_points: int = 200
) -> dict[str, list[float]]:
    """Ent precision, recall and threshold lists, thinned evenly to at most ``max_points``.

    The three lists are aligned and ordered by increasing threshold; the ends are kept.
    """
    precision, recall, thresholds = _curve(gold, p_ent)
    n = len(thresholds)
    keep = np.unique(np.linspace(0, n - 1, min(max_points, n)).round().astype(int))
    return {
        "precision": precision[keep].tolist(),
        "recall": recall[keep].tolist(),
        "threshold": thresholds[keep].tolist(),
    }


def best_threshold(gold: np.ndarray | Seqs, p_ent: np.ndarray | Seqs) -> tuple[float, float]:
    """``(t, f1)``: the threshold maximising Ent F1, the lowest such if tied, and that F1."""
    precision, recall, thresholds = _curve(gold, p_ent)
    den = precision + recall
    f1 = np.divide(2 * precision * recall, den, out=np.zeros_like(den), where=den > 0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])
