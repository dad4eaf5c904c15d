"""Entity-level scores: entities from B/I/O tags, strict P/R/F1, error kinds.

An entity is a half-open span ``(start, end)`` of characters. ``labels.bio_spans``
decodes tag ids (``labels.TAGS``: 0 = B, 1 = I, 2 = O) as seqeval's default mode does: B
opens an entity, I continues the open one, and an I with none open (first, or after O)
opens one. seqeval's strict IOB2 mode instead drops such an I; the two agree on tags
where every entity starts with B, which is what ``Sentence.tags`` and
``labels.tags_of`` give. An Ent/O model's entities are its runs of Ent, scored here
against the real entities like any other spans.

Scores are strict: a predicted entity is correct when a gold entity has the same span.

Error kinds. Two entities overlap when they share a character; predicted entities never
overlap one another, nor do gold ones. Each predicted and each gold entity of a sentence
falls in exactly one of ``KINDS``:

- ``exact``: a predicted and a gold entity with the same span (the correct ones).
- ``boundary``: a predicted entity that overlaps exactly one gold entity, which overlaps
  no other predicted entity, without the same span; and that gold entity.
- ``merged``: a predicted entity that overlaps two or more gold entities; and a gold
  entity that overlaps only one predicted entity, that being such a one.
- ``split``: a gold entity overlapped by two or more predicted entities; and a predicted
  entity that overlaps only one gold entity, that being such a one.
- ``missed``: a gold entity that overlaps no predicted entity.
- ``spurious``: a predicted entity that overlaps no gold entity.

So predicted = exact + boundary + merged + split + spurious on the predicted side, and
gold = exact + boundary + merged + split + missed on the gold side. In a chain (one
prediction covering two gold entities, the second of which is also overlapped by another
prediction), the covering prediction is ``merged`` and the doubly covered gold entity
``split``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from enttag.labels import Span

Spans = Sequence[Span]
COUNTS = ("correct", "predicted", "gold")
SIDES = ("predicted", "gold")
KINDS = ("exact", "boundary", "merged", "split", "missed", "spurious")
EXACT, BOUNDARY, MERGED, SPLIT, MISSED, SPURIOUS = range(len(KINDS))


def _check(gold: Sequence[Spans], pred: Sequence[Spans]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")


def entity_counts(gold: Sequence[Spans], pred: Sequence[Spans]) -> np.ndarray:
    """(n_sentences, 3) int counts per sentence, columns ``COUNTS``: correct (exact
    matches), predicted and gold entities; rows a sentence bootstrap can resample."""
    _check(gold, pred)
    rows = [(len(set(g) & set(p)), len(p), len(g)) for g, p in zip(gold, pred, strict=True)]
    return np.array(rows, dtype=np.int64).reshape(-1, len(COUNTS))


def entity_prf(totals: np.ndarray) -> dict[str, Any]:
    """Precision, recall and F1 (0 where undefined) from totals of ``COUNTS``: floats for
    (3,) totals (sum ``entity_counts`` over sentences first), arrays for (..., 3) ones,
    such as bootstrap resamples."""
    correct, predicted, gold = np.moveaxis(np.asarray(totals, dtype=float), -1, 0)

    def ratio(num: np.ndarray, den: np.ndarray) -> Any:
        r = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return r if r.ndim else float(r)

    return {
        "precision": ratio(correct, predicted),
        "recall": ratio(correct, gold),
        "f1": ratio(2 * correct, predicted + gold),
    }


def _bounds(spans: Spans) -> tuple[np.ndarray, np.ndarray]:
    s = np.array(spans, dtype=np.int64).reshape(-1, 2)
    return s[:, 0], s[:, 1]


def sentence_kinds(gold: Spans, pred: Spans) -> np.ndarray:
    """(2, 6) counts of one sentence's entities by kind: rows ``SIDES`` (predicted, gold),
    columns ``KINDS``, as defined in the module docstring; each row sums to that side's
    number of entities."""
    p0, p1 = (b[:, None] for b in _bounds(pred))  # predicted entities down the rows
    g0, g1 = (b[None, :] for b in _bounds(gold))  # gold entities across the columns
    overlap = (p0 < g1) & (g0 < p1)
    exact = (p0 == g0) & (p1 == g1)
    golds_per_pred, preds_per_gold = overlap.sum(axis=1), overlap.sum(axis=0)
    # for an entity that overlaps one on the other side: how many that one overlaps
    partner_preds = (overlap * preds_per_gold).max(axis=1, initial=0)
    partner_golds = (overlap * golds_per_pred[:, None]).max(axis=0, initial=0)
    pred_kind = np.select(
        [golds_per_pred == 0, golds_per_pred >= 2, exact.any(axis=1), partner_preds >= 2],
        [SPURIOUS, MERGED, EXACT, SPLIT],
        BOUNDARY,
    )
    gold_kind = np.select(
        [preds_per_gold == 0, preds_per_gold >= 2, exact.any(axis=0), partner_golds >= 2],
        [MISSED, SPLIT, EXACT, MERGED],
        BOUNDARY,
    )
    return np.stack([np.bincount(k, minlength=len(KINDS)) for k in (pred_kind, gold_kind)])


def kind_counts(gold: Sequence[Spans], pred: Sequence[Spans]) -> np.ndarray:
    """(n_sentences, 2, 6) ``sentence_kinds`` of each sentence."""
    _check(gold, pred)
    rows = [sentence_kinds(g, p) for g, p in zip(gold, pred, strict=True)]
    return np.array(rows, dtype=np.int64).reshape(-1, len(SIDES), len(KINDS))


def kind_totals(counts: np.ndarray) -> dict[str, dict[str, int]]:
    """``{kind: {"predicted": n, "gold": n}}`` summed over the sentences of ``kind_counts``."""
    totals = np.asarray(counts).reshape(-1, len(SIDES), len(KINDS)).sum(axis=0)
    return {
        k: {side: int(totals[i, j]) for i, side in enumerate(SIDES)} for j, k in enumerate(KINDS)
    }
