"""Runs of Ent and entities in the report: span F1, predicted entities, entity errors per
sentence, the worst sentences and the sentences the entity view shows.

A span is a maximal run of Ent (0) labels, as a half-open ``(start, end)``. Span F1
(:func:`span_scores`) compares runs of Ent with runs of Ent, as every earlier run did:
two entities that touch (no O between them) read as one run, in gold and in predictions.
Entity scores compare a system's predicted entities with the corpus's entities
(:mod:`enttag.entities`): its runs of Ent, split where its P(B | Ent) opens a new one
(:func:`predicted_entities`; an Ent/O tagger's are its runs of Ent).

A sentence's entity errors (:func:`entity_errors`) are the kinds of
:mod:`enttag.entities` but ``exact``, each counted on one side: ``boundary``, ``merged``
and ``spurious`` count predicted entities, ``split`` and ``missed`` gold ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from enttag.entities import KINDS, SIDES, Spans, sentence_kinds
from enttag.labels import Seqs, Span, bio_spans, check_aligned, spans, tags_of

ERROR_SIDES = {
    "boundary": "predicted",
    "merged": "predicted",
    "split": "gold",
    "missed": "gold",
    "spurious": "predicted",
}


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


def predicted_entities(pred_seqs: Seqs, p_begin: Seqs | None = None) -> list[list[Span]]:
    """The entities a system predicted, per sentence: runs of Ent labels, split where
    ``p_begin`` (P(B | Ent)) opens one (``labels.tags_of``); without it, the runs."""
    begins = p_begin if p_begin is not None else [None] * len(pred_seqs)
    return [bio_spans(tags_of(p, b)) for p, b in zip(pred_seqs, begins, strict=True)]


def entity_errors(gold: Spans, pred: Spans) -> dict[str, int]:
    """One sentence's entity errors by kind, each counted on its side (``ERROR_SIDES``)."""
    kinds = sentence_kinds(gold, pred)
    return {k: int(kinds[SIDES.index(side), KINDS.index(k)]) for k, side in ERROR_SIDES.items()}


@dataclass(frozen=True)
class Tagged:
    """A split as one system tagged it, aligned by sentence: texts, gold and predicted
    Ent/O labels, gold entities and predicted ones (default: the runs of ``pred``)."""

    texts: Sequence[str]
    gold: Seqs
    pred: Seqs
    gold_entities: Sequence[Spans]
    pred_entities: Sequence[Spans] | None = None

    def __post_init__(self) -> None:
        check_aligned(self.gold, self.pred)
        check_aligned(self.gold, self.texts, "texts")
        if self.pred_entities is None:
            object.__setattr__(self, "pred_entities", predicted_entities(self.pred))
        for name in ("gold_entities", "pred_entities"):
            if len(getattr(self, name)) != len(self.gold):
                raise ValueError(
                    f"{len(self.gold)} gold sentences but {name} of {len(getattr(self, name))}"
                )

    def errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Character errors and entity errors of each sentence."""
        chars = [int((g != p).sum()) for g, p in zip(self.gold, self.pred, strict=True)]
        pairs = zip(self.gold_entities, self.pred_entities, strict=True)
        ents = [sum(entity_errors(g, p).values()) for g, p in pairs]
        return np.array(chars, dtype=np.int64), np.array(ents, dtype=np.int64)

    def row(self, i: int) -> dict[str, Any]:
        """Sentence ``i``: ``index``, ``text``, ``errors`` (characters), ``gold_spans`` and
        ``pred_spans`` (entities as ``[start, end, "text"]``) and ``error_kinds``."""
        text, gold, pred = self.texts[i], self.gold_entities[i], self.pred_entities[i]
        return {
            "index": int(i),
            "text": text,
            "errors": int((self.gold[i] != self.pred[i]).sum()),
            "gold_spans": [[s, e, text[s:e]] for s, e in gold],
            "pred_spans": [[s, e, text[s:e]] for s, e in pred],
            "error_kinds": entity_errors(gold, pred),
        }


def worst_sentences(tagged: Tagged, n: int) -> list[dict[str, Any]]:
    """The ``n`` sentences with most character errors, then most entity errors, ties by
    index, as :meth:`Tagged.row`; sentences without errors of either kind are left out."""
    chars, ents = tagged.errors()
    order = np.lexsort((-ents, -chars))[:n]  # lexsort is stable: ties stay in index order
    return [tagged.row(i) for i in order if chars[i] or ents[i]]


def view_rows(
    worst: Sequence[dict[str, Any]], tagged: Tagged, p_ent: Seqs, *, n_correct: int, seed: int
) -> list[dict[str, Any]]:
    """What the entity view shows: the ``worst`` rows, then ``n_correct`` sentences
    without character or entity errors (a seeded random sample, in index order), each
    with ``p_ent`` (P(Ent) per character, 3 decimals)."""
    chars, ents = tagged.errors()
    correct = np.flatnonzero((chars == 0) & (ents == 0))
    rng = np.random.default_rng(seed)
    sample = sorted(rng.choice(correct, size=min(n_correct, len(correct)), replace=False).tolist())
    rows = [*worst, *(tagged.row(i) for i in sample)]
    return [r | {"p_ent": np.round(p_ent[r["index"]], 3).tolist()} for r in rows]
