"""Entity spans from Ent/O labels: exact-match scores, boundary errors, worst sentences.

A span is a maximal run of Ent (0) labels, as a half-open ``(start, end)``.

Caveat: the tags have no begin marker, so two entities that touch (no O between
them) read as one span, both in gold and in predictions.

Error kinds of one sentence, by comparing spans (spans overlap when they share a
character):

- ``missed``: a gold span that overlaps no predicted span.
- ``spurious``: a predicted span that overlaps no gold span.
- ``too_long``: a predicted span that overlaps exactly one gold span, covers all of it
  and is longer.
- ``too_short``: a predicted span that overlaps exactly one gold span, lies inside it
  and is shorter (a gold span split in two counts twice).
- ``other_boundary``: any other predicted span that overlaps gold but is not an exact
  match: shifted (overlaps one gold span, neither inside the other) or merged
  (overlaps two or more gold spans).

``missed`` counts gold spans, the others count predicted spans; every predicted span
is exactly one of exact match, spurious, too_long, too_short or other_boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from enttag.labels import Seqs, check_aligned, spans


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def span_scores(gold_seqs: Seqs, pred_seqs: Seqs) -> dict[str, float | int]:
    """Exact-match span precision, recall and F1: a predicted span counts only if it
    equals a gold span."""
    check_aligned(gold_seqs, pred_seqs)
    n_gold = n_pred = exact = 0
    for g, p in zip(gold_seqs, pred_seqs, strict=True):
        gs, ps = set(spans(g)), set(spans(p))
        n_gold, n_pred, exact = n_gold + len(gs), n_pred + len(ps), exact + len(gs & ps)
    precision, recall = _ratio(exact, n_pred), _ratio(exact, n_gold)
    return {
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "gold_spans": n_gold,
        "pred_spans": n_pred,
        "exact_matches": exact,
    }


def _bounds(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the spans of ``labels``."""
    s = np.array(spans(labels), dtype=np.int64).reshape(-1, 2)
    return s[:, 0], s[:, 1]


def error_kinds(gold: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    """Counts of ``missed``, ``spurious``, ``too_long``, ``too_short`` and
    ``other_boundary`` for one sentence, as defined in the module docstring."""
    p0, p1 = (b[:, None] for b in _bounds(pred))  # predicted spans down the rows
    g0, g1 = (b[None, :] for b in _bounds(gold))  # gold spans across the columns
    overlap = (p0 < g1) & (g0 < p1)
    hits = overlap.sum(axis=1)
    covers = (hits == 1) & ((p0 <= g0) & (p1 >= g1)).any(axis=1)
    inside = (hits == 1) & ((p0 >= g0) & (p1 <= g1)).any(axis=1)
    return {
        "missed": int((~overlap.any(axis=0)).sum()),
        "spurious": int((hits == 0).sum()),
        "too_long": int((covers & ~inside).sum()),
        "too_short": int((inside & ~covers).sum()),
        "other_boundary": int(((hits > 0) & ~covers & ~inside).sum()),
    }


def _described(labels: np.ndarray, text: str) -> list[list[Any]]:
    return [[s, e, text[s:e]] for s, e in spans(labels)]


def _sentence_row(i: int, text: str, gold: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    return {
        "index": int(i),
        "text": text,
        "errors": int((gold != pred).sum()),
        "gold_spans": _described(gold, text),
        "pred_spans": _described(pred, text),
        "error_kinds": error_kinds(gold, pred),
    }


def worst_sentences(
    texts: Sequence[str], gold_seqs: Seqs, pred_seqs: Seqs, n: int
) -> list[dict[str, Any]]:
    """The ``n`` sentences with most character errors, most first, ties by index.

    Sentences without errors are left out. Each entry has ``index``, ``text``,
    ``errors``, ``gold_spans`` and ``pred_spans`` as ``[start, end, "text"]``, and
    ``error_kinds``.
    """
    check_aligned(gold_seqs, pred_seqs)
    check_aligned(gold_seqs, texts, "texts")
    errors = np.array([int((g != p).sum()) for g, p in zip(gold_seqs, pred_seqs, strict=True)])
    order = np.argsort(-errors, kind="stable")[:n]
    return [_sentence_row(i, texts[i], gold_seqs[i], pred_seqs[i]) for i in order if errors[i]]


def view_rows(
    worst: Sequence[dict[str, Any]],
    texts: Sequence[str],
    gold_seqs: Seqs,
    pred_seqs: Seqs,
    p_ent: Seqs,
    *,
    n_correct: int,
    seed: int,
) -> list[dict[str, Any]]:
    """What the entity view shows: the ``worst`` rows, then ``n_correct`` sentences
    without errors (a seeded random sample, in index order), each with ``p_ent``
    (P(Ent) per character, 3 decimals)."""
    correct = [
        i for i, (g, p) in enumerate(zip(gold_seqs, pred_seqs, strict=True)) if (g == p).all()
    ]
    rng = np.random.default_rng(seed)
    sample = sorted(rng.choice(correct, size=min(n_correct, len(correct)), replace=False).tolist())
    rows = [*worst, *(_sentence_row(i, texts[i], gold_seqs[i], pred_seqs[i]) for i in sample)]
    return [r | {"p_ent": np.round(p_ent[r["index"]], 3).tolist()} for r in rows]
