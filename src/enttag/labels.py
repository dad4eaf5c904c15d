"""Ent/O labels and B/I/O tags as arrays: ids, per-sentence sequences, thresholding P(Ent),
decoding entities.

Label ids: 0 = Ent, 1 = O. Tag ids: 0 = B (opens an entity), 1 = I (continues it),
2 = O; B and I are Ent. A split's labels or tags are one int array per sentence
(``Seqs``); numpy only, so the predict path stays light.

A model gives two numbers per character: P(Ent), and P(B | Ent), the chance that an Ent
character opens an entity (0 from an Ent/O model, which cannot tell). Thresholding
P(Ent) gives the labels; an Ent character is then B where P(B | Ent) is above
``ARGMAX``, or where no Ent precedes it, else I (:func:`tags_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np

LABELS = ("Ent", "O")
ENT, OUTSIDE = LABELS.index("Ent"), LABELS.index("O")
ARGMAX = 0.5  # the P(Ent) cut that equals the argmax of the two classes

TAGS = ("B", "I", "O")
TAG_B, TAG_I, TAG_O = range(len(TAGS))
_LABEL_OF_TAG = np.array([ENT, ENT, OUTSIDE])

# A model's tag scheme (``model.tags``) and the classes of its head, as its outputs name them.
SCHEMES = ("io", "bio")
CLASSES = {"io": LABELS, "bio": ("B-Ent", "I-Ent", "O")}

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


def tags_of(labels: np.ndarray, p_begin: np.ndarray | None = None) -> np.ndarray:
    """B/I/O tag ids of Ent/O labels: an Ent character is B where ``P(B | Ent) > ARGMAX``
    or where it follows O (or starts the text), else I. Without ``p_begin`` every run of
    Ent is one entity."""
    ent = np.asarray(labels) == ENT
    opens = ent & ~np.concatenate([[False], ent[:-1]])
    if p_begin is not None:
        opens |= ent & (np.asarray(p_begin) > ARGMAX)
    return np.where(opens, TAG_B, np.where(ent, TAG_I, TAG_O))


def bio_spans(tags: np.ndarray) -> list[Span]:
    """Entities of B/I/O tag ids, in order; an I with no entity open opens one (as
    seqeval's default mode does)."""
    tags = np.asarray(tags)
    inside = tags != TAG_O
    opens = inside & ((tags == TAG_B) | ~np.concatenate([[False], inside])[:-1])
    # an entity closes where the next character opens one or is outside, or at the end
    closes = inside & np.concatenate([opens | ~inside, [True]])[1:]
    starts, ends = np.flatnonzero(opens).tolist(), (np.flatnonzero(closes) + 1).tolist()
    return list(zip(starts, ends, strict=True))


def tags_from_probs(p_ent: np.ndarray, cut: float, p_begin: np.ndarray | None = None) -> list[str]:
    """``"Ent"``/``"O"`` where ``P(Ent) >= cut`` or not; with ``p_begin`` (a B/I/O model),
    ``"B-Ent"``/``"I-Ent"``/``"O"`` (:func:`tags_of`)."""
    labels = apply_threshold(np.asarray(p_ent), cut)
    if p_begin is None:
        return [LABELS[i] for i in labels.tolist()]
    return [CLASSES["bio"][i] for i in tags_of(labels, p_begin).tolist()]


def spans_from_probs(
    text: str, p_ent: np.ndarray, cut: float, p_begin: np.ndarray | None = None
) -> list[tuple[int, int, str]]:
    """Entities as ``(start, end, entity text)``, half-open: runs of ``P(Ent) >= cut``,
    split where ``p_begin`` (a B/I/O model's P(B | Ent)) opens a new one."""
    tags = tags_of(apply_threshold(np.asarray(p_ent), cut), p_begin)
    return [(s, e, text[s:e]) for s, e in bio_spans(tags)]


def class_probs(probs: np.ndarray, tags: str) -> np.ndarray:
    """Each character's probability of each class of a ``tags`` head (``CLASSES``) from
    its P(Ent) and P(B | Ent) (``probs``, (n, 2)): (n, 2) for Ent/O, (n, 3) for B/I/O."""
    p_ent, p_begin = probs[:, 0].astype(np.float64), probs[:, 1].astype(np.float64)
    if tags == "io":
        return np.stack([p_ent, 1 - p_ent], axis=1)
    return np.stack([p_ent * p_begin, p_ent * (1 - p_begin), 1 - p_ent], axis=1)


def tag_ids(tags: Sequence[str]) -> np.ndarray:
    """Ids of ``"B"``/``"I"``/``"O"`` tags."""
    return np.array([TAGS.index(t) for t in tags], dtype=np.int64)


def labels_of_tags(ids: np.ndarray) -> np.ndarray:
    """Ent/O label ids of B/I/O tag ids: B and I are Ent (0), O is O (1)."""
    return _LABEL_OF_TAG[np.asarray(ids, dtype=np.int64)]
