"""Tests for enttag.entities: entities from B/I/O tags, strict P/R/F1 against seqeval,
error kinds that partition the entities, and Ent/O runs scored against real entities."""

from __future__ import annotations

import numpy as np
import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities

from enttag.data.readers import Sentence
from enttag.entities import (
    COUNTS,
    KINDS,
    SIDES,
    entity_counts,
    entity_prf,
    kind_counts,
    kind_totals,
    sentence_kinds,
)
from enttag.labels import ENT, OUTSIDE, TAGS, bio_spans, labels_of_tags, spans, tag_ids


def ids(marks: str) -> np.ndarray:
    """``"BI.B"`` -> tag ids of B, I, O, B."""
    return tag_ids(["O" if c == "." else c for c in marks])


def seqeval_tags(marks: str) -> list[str]:
    """``"BI.B"`` -> ``["B-E", "I-E", "O", "B-E"]``."""
    return ["O" if c == "." else f"{c}-E" for c in marks]


def default_spans(marks: str) -> list[tuple[int, int]]:
    """seqeval's default mode, as half-open spans."""
    return [(s, e + 1) for _, s, e in get_entities(seqeval_tags(marks))]


def strict_spans(marks: str) -> list[tuple[int, int]]:
    """seqeval's strict IOB2 mode, as half-open spans."""
    return [(e.start, e.end) for e in Entities([seqeval_tags(marks)], IOB2).entities[0]]


def canonical(marks: str) -> str:
    """Every entity opened with B: an I first or after O becomes B."""
    return "".join(
        "B" if c == "I" and (i == 0 or marks[i - 1] == ".") else c for i, c in enumerate(marks)
    )


def seqeval_prf(gold: list[str], pred: list[str], **mode) -> dict[str, float]:
    y, p = [seqeval_tags(g) for g in gold], [seqeval_tags(q) for q in pred]
    scores = (precision_score, recall_score, f1_score)
    return {
        name: f(y, p, zero_division=0, **mode)
        for name, f in zip(("precision", "recall", "f1"), scores, strict=True)
    }


def ours_prf(gold: list[str], pred: list[str]) -> dict[str, float]:
    counts = entity_counts([bio_spans(ids(g)) for g in gold], [bio_spans(ids(p)) for p in pred])
    assert counts.shape == (len(gold), len(COUNTS)) and counts.dtype == np.int64
    return entity_prf(counts.sum(axis=0))


STRICT = {"mode": "strict", "scheme": IOB2}


def test_tag_ids_and_their_labels():
    assert TAGS == ("B", "I", "O")
    assert ids("BI.").tolist() == [0, 1, 2]
    assert labels_of_tags(ids("BIB.")).tolist() == [ENT, ENT, ENT, OUTSIDE]


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ("BIBI", [(0, 2), (2, 4)]),  # adjacent entities
        ("BBB", [(0, 1), (1, 2), (2, 3)]),  # single characters, adjacent
        ("BI..BII", [(0, 2), (4, 7)]),  # at the start and at the end
        (".B.", [(1, 2)]),
        (".II.I", [(1, 3), (4, 5)]),  # an I after O opens an entity
        ("IBI", [(0, 1), (1, 3)]),  # an I first opens one
        ("....", []),
        ("", []),
    ],
)
def test_bio_spans_follow_seqeval_default_mode(marks, expected):
    assert bio_spans(ids(marks)) == expected
    if marks:
        assert default_spans(marks) == expected
        assert strict_spans(canonical(marks)) == expected


def test_strict_iob2_drops_an_i_after_o_where_the_module_opens_one():
    assert strict_spans(".II.B") == [(4, 5)]
    assert bio_spans(ids(".II.B")) == default_spans(".II.B") == [(1, 3), (4, 5)]


def test_ent_o_labels_lose_where_adjacent_entities_start():
    assert spans(labels_of_tags(ids("BIBI..B"))) == [(0, 4), (6, 7)]
    assert spans(np.array([OUTSIDE, OUTSIDE])) == spans(np.array([], dtype=int)) == []


CASES = [  # (gold, pred) tag marks per sentence
    ("BIBI.", "BIII."),  # adjacent gold entities, merged by the prediction
    ("BIBI.", "BIBI."),
    (".II.B", ".BI.B"),  # an I after O in gold
    ("B.B.B", "B.BB."),  # single characters, at the start and end
    ("BI...", "....."),
    (".....", "..BI."),  # no gold entity
    (".....", "....."),  # no entity at all
    ("BIIII", "BIIII"),  # one entity over the whole sentence
]


@pytest.mark.parametrize("n", [1, 3, len(CASES)])
def test_prf_matches_seqeval_on_constructed_cases(n):
    gold, pred = [g for g, _ in CASES[:n]], [p for _, p in CASES[:n]]
    assert ours_prf(gold, pred) == pytest.approx(seqeval_prf(gold, pred))
    canon_gold, canon_pred = [canonical(g) for g in gold], [canonical(p) for p in pred]
    assert ours_prf(gold, pred) == pytest.approx(seqeval_prf(canon_gold, canon_pred, **STRICT))


def test_counts_per_sentence():
    gold, pred = [g for g, _ in CASES], [p for _, p in CASES]
    counts = entity_counts([bio_spans(ids(g)) for g in gold], [bio_spans(ids(p)) for p in pred])
    assert counts.tolist() == [
        [0, 1, 2],
        [2, 2, 2],
        [2, 2, 2],
        [2, 3, 3],
        [0, 0, 1],
        [0, 1, 0],
        [0, 0, 0],
        [1, 1, 1],
    ]
    assert entity_counts([], []).shape == (0, 3)
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        entity_counts([[], []], [[]])


def random_marks(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("BI."), size=n, p=[0.3, 0.3, 0.4]))


def test_random_sequences_match_seqeval():
    """400 random sentences with I after O: spans as seqeval's default mode, as its strict
    IOB2 mode once every entity opens with B; P/R/F1 over 40 random corpora of them."""
    rng = np.random.default_rng(22)
    corpora = [
        [(random_marks(rng, n), random_marks(rng, n)) for n in rng.integers(1, 15, size=5)]
        for _ in range(40)
    ]
    for corpus in corpora:
        for sentence in corpus:
            for marks in sentence:
                found = bio_spans(ids(marks))
                assert found == default_spans(marks) == strict_spans(canonical(marks))
        gold, pred = [g for g, _ in corpus], [p for _, p in corpus]
        assert ours_prf(gold, pred) == pytest.approx(seqeval_prf(gold, pred))
    gold, pred = [g for c in corpora for g, _ in c], [p for c in corpora for _, p in c]
    canon = seqeval_prf([canonical(g) for g in gold], [canonical(p) for p in pred], **STRICT)
    assert ours_prf(gold, pred) == pytest.approx(canon)


def test_prf_of_totals_and_of_resamples():
    assert entity_prf(np.array([2, 4, 5])) == pytest.approx(
        {"precision": 0.5, "recall": 0.4, "f1": 4 / 9}
    )
    assert entity_prf(np.array([0, 0, 0])) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert isinstance(entity_prf(np.array([1, 1, 1]))["f1"], float)
    resampled = entity_prf(np.array([[1, 2, 2], [0, 0, 3]]))
    assert resampled["f1"].tolist() == [0.5, 0.0]


def kinds(gold: str, pred: str) -> dict[str, tuple[int, int]]:
    """The non-zero kinds as {kind: (predicted, gold)}."""
    counts = sentence_kinds(bio_spans(ids(gold)), bio_spans(ids(pred)))
    assert counts.shape == (len(SIDES), len(KINDS))
    return {k: (int(p), int(g)) for k, p, g in zip(KINDS, *counts, strict=True) if p or g}


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("BI.B", "BI.B", {"exact": (2, 2)}),
        ("BII.", ".BI.", {"boundary": (1, 1)}),  # too short
        (".BI.", "BIII", {"boundary": (1, 1)}),  # too long
        ("BII..", ".BII", {"boundary": (1, 1)}),  # shifted
        ("BIBI.", "BIII.", {"merged": (1, 2)}),  # adjacent gold entities read as one
        ("BIII.", "BIBI.", {"split": (2, 1)}),
        ("B.BI.", ".....", {"missed": (0, 2)}),
        (".....", "BI..B", {"spurious": (2, 0)}),
        # a chain: the first prediction covers both gold entities (merged), the second gold
        # entity is also overlapped by the second prediction (split)
        ("BIIBII.", ".BIIIBI", {"merged": (1, 1), "split": (1, 1)}),
        ("BI.BI..B.B", "BIII..BI..", {"merged": (1, 2), "boundary": (1, 1), "missed": (0, 1)}),
    ],
)
def test_error_kinds(gold, pred, expected):
    assert kinds(gold, pred) == expected


def test_error_kinds_partition_the_entities():
    rng = np.random.default_rng(7)
    pairs = [(random_marks(rng, n), random_marks(rng, n)) for n in rng.integers(1, 20, size=300)]
    gold = [bio_spans(ids(g)) for g, _ in pairs]
    pred = [bio_spans(ids(p)) for _, p in pairs]
    table, counts = kind_counts(gold, pred), entity_counts(gold, pred)
    assert table.shape == (300, 2, 6)
    correct, predicted, gold_n = counts.T
    assert (table[:, 0].sum(axis=1) == predicted).all()  # every predicted entity once
    assert (table[:, 1].sum(axis=1) == gold_n).all()  # every gold entity once
    assert (table[:, 0, 0] == correct).all() and (table[:, 1, 0] == correct).all()
    assert (table[:, 0, KINDS.index("missed")] == 0).all()
    assert (table[:, 1, KINDS.index("spurious")] == 0).all()
    boundary = KINDS.index("boundary")
    assert (table[:, 0, boundary] == table[:, 1, boundary]).all()  # one-to-one pairs
    assert all(table[:, :, KINDS.index(k)].sum() > 0 for k in KINDS)  # every kind occurs
    totals = kind_totals(table)
    assert list(totals) == list(KINDS)
    assert sum(t["predicted"] for t in totals.values()) == predicted.sum()
    assert sum(t["gold"] for t in totals.values()) == gold_n.sum()


def test_an_ent_o_prediction_scored_against_the_real_entities():
    gold = Sentence("北京上海人", tuple("BIBIO"))
    perfect_io = labels_of_tags(tag_ids(gold.tags))  # right on every character
    gold_spans, pred_spans = bio_spans(tag_ids(gold.tags)), spans(perfect_io)
    assert entity_counts([gold_spans], [pred_spans]).tolist() == [[0, 1, 2]]
    assert kind_totals(kind_counts([gold_spans], [pred_spans]))["merged"] == {
        "predicted": 1,
        "gold": 2,
    }
