"""Ent/O labels as arrays: ids, per-sentence sequences, thresholding P(Ent), Ent runs.

Label ids: 0 = Ent, 1 = O. A split's labels are one int array per sentence
(``Seqs``); numpy only, so the predict path stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

LABELS = ("Ent", "O")
ENT, OUTSIDE = LABELS.index("Ent"), LABELS.index("O")
ARGMAX = 0.5  # the P(Ent) cut that equals the argmax of the two classes

Seqs = Sequence[np.ndarray]
Span = tuple[int, int]


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


def checked(seqs: np.ndarray | Seqs, name: str) -> np.ndarray:
    """Flat labels, checked to be Ent (0) or O (1)."""
    flat = flatten(seqs)
    if not np.isin(flat, (ENT, OUTSIDE)).all():
        raise ValueError(f"{name} labels must be {ENT} (Ent) or {OUTSIDE} (O)")
    return flat


@overload
def apply_threshold(p_ent: np.ndarray, t: float) -> np.ndarray: ...
@overload
def apply_threshold(p_ent: Seqs, t: float) -> list[np.ndarray]: ...
def apply_threshold(p_ent: np.ndarray | Seqs, t: float) -> np.ndarray | list[np.ndarray]:
    """Labels from P(Ent): Ent (0) where ``p >= t``, else O (1); per sentence for a list."""
    if isinstance(p_ent, np.ndarray):
        return np.where(p_ent >= t, ENT, OUTSIDE)
    return [np.where(np.asarray(p) >= t, ENT, OUTSIDE) for p in p_ent]


def spans(labels: np.ndarray) -> list[Span]:
    """Maximal runs of Ent (0) as half-open ``(start, end)``, in order."""
    edges = np.diff(np.concatenate([[0], np.asarray(labels) == ENT, [0]]).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    return list(zip(starts, ends, strict=True))


def tags_from_probs(p_ent: np.ndarray, cut: float) -> list[str]:
    """``"Ent"`` where ``P(Ent) >= cut``, else ``"O"``."""
    return [LABELS[i] for i in apply_threshold(np.asarray(p_ent), cut).tolist()]


def spans_from_probs(text: str, p_ent: np.ndarray, cut: float) -> list[tuple[int, int, str]]:
    """Maximal Ent runs as ``(start, end, entity text)``, half-open."""
    return [(s, e, text[s:e]) for s, e in spans(apply_threshold(np.asarray(p_ent), cut))]
