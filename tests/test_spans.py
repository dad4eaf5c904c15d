import numpy as np
import pytest

from enttag.labels import ENT, OUTSIDE, spans
from enttag.report.spans import error_kinds, span_scores, worst_sentences

NONE = {"missed": 0, "spurious": 0, "too_long": 0, "too_short": 0, "other_boundary": 0}


def tags(marks: str) -> np.ndarray:
    """``"EE.E"`` -> Ent, Ent, O, Ent."""
    return np.array([ENT if c == "E" else OUTSIDE for c in marks])


def kinds(gold: str, pred: str) -> dict[str, int]:
    return error_kinds(tags(gold), tags(pred))


def test_spans_are_maximal_half_open_runs_of_ent():
    assert spans(tags("EE.E..E")) == [(0, 2), (3, 4), (6, 7)]
    assert spans(tags("....")) == []
    assert spans(tags("EEE")) == [(0, 3)]
    assert spans(np.array([], dtype=int)) == []


def test_adjacent_entities_merge_into_one_span():
    # Caveat: "北京上海" is two gold entities, but with no O between them the Ent/O
    # tags hold one span, and predicting that one span counts as an exact match.
    gold = tags("EEEE.")
    assert spans(gold) == [(0, 4)]
    assert span_scores([gold], [gold])["gold_spans"] == 1
    assert kinds("EEEE.", "EEEE.") == NONE


def test_span_scores_count_only_exact_matches():
    gold = [tags("EE..EEE."), tags(".EE....."), tags("........")]
    pred = [tags("EE..EE.."), tags(".EE...E."), tags("........")]
    assert span_scores(gold, pred) == {
        "precision": pytest.approx(2 / 4),
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)),
        "gold_spans": 3,
        "pred_spans": 4,
        "exact_matches": 2,
    }


def test_span_scores_perfect_and_empty():
    gold = [tags("EE.E"), tags("..EE")]
    assert span_scores(gold, gold) == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "gold_spans": 3,
        "pred_spans": 3,
        "exact_matches": 3,
    }
    none = span_scores([tags("...")], [tags("...")])
    assert (none["precision"], none["recall"], none["f1"]) == (0.0, 0.0, 0.0)


def test_span_scores_refuse_misaligned_sentences():
    with pytest.raises(ValueError, match="sentence 0"):
        span_scores([tags("EE.")], [tags("EE")])


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("..EEE...", "..EEE...", {}),
        ("..EEE...", ".EEEE...", {"too_long": 1}),
        ("..EEE...", "..EEEEE.", {"too_long": 1}),
        ("..EEE...", "..EE....", {"too_short": 1}),
        ("..EEE...", "...E....", {"too_short": 1}),
        ("..EEEEE.", "..EE.EE.", {"too_short": 2}),  # a gold span split in two
        ("..EEE...", "........", {"missed": 1}),
        ("........", ".EE.....", {"spurious": 1}),
        ("..EEE...", "...EEE..", {"other_boundary": 1}),  # shifted
        (".EE.EE..", ".EEEEE..", {"other_boundary": 1}),  # merged
        ("EE..E..E", "EEE.....", {"too_long": 1, "missed": 2}),
        ("EE....E.", "EE.EE...", {"spurious": 1, "missed": 1}),
    ],
)
def test_error_kinds(gold, pred, expected):
    assert kinds(gold, pred) == NONE | expected


TEXTS = ["北京是首都", "我在上海和杭州", "今天天气好", "张三来了"]
GOLD = [tags("EE..."), tags("..EE.EE"), tags("....."), tags("EE..")]
PRED = [tags("EEE.."), tags("...E..."), tags("E...."), tags("EE..")]


def test_worst_sentences_most_errors_first_ties_by_index():
    worst = worst_sentences(TEXTS, GOLD, PRED, 10)
    assert [w["index"] for w in worst] == [1, 0, 2]  # errors 3, 1, 1; sentence 3 is right
    assert [w["errors"] for w in worst] == [3, 1, 1]
    assert [w["index"] for w in worst_sentences(TEXTS, GOLD, PRED, 2)] == [1, 0]
    assert worst_sentences(TEXTS, GOLD, PRED, 0) == []


def test_worst_sentences_entries():
    first = worst_sentences(TEXTS, GOLD, PRED, 1)[0]
    assert first == {
        "index": 1,
        "text": "我在上海和杭州",
        "errors": 3,
        "gold_spans": [[2, 4, "上海"], [5, 7, "杭州"]],
        "pred_spans": [[3, 4, "海"]],
        "error_kinds": NONE | {"too_short": 1, "missed": 1},
    }


def test_worst_sentences_refuse_texts_of_the_wrong_length():
    with pytest.raises(ValueError, match="texts"):
        worst_sentences(["北京"] + TEXTS[1:], GOLD, PRED, 1)


def test_every_predicted_span_is_one_kind_or_an_exact_match():
    rng = np.random.default_rng(0)
    for _ in range(200):
        gold, pred = (np.where(rng.random(20) < 0.4, ENT, OUTSIDE) for _ in range(2))
        k = error_kinds(gold, pred)
        exact = len(set(spans(gold)) & set(spans(pred)))
        pred_kinds = k["spurious"] + k["too_long"] + k["too_short"] + k["other_boundary"]
        assert pred_kinds + exact == len(spans(pred))
        assert k["missed"] <= len(spans(gold)) - exact


def iob2(labels: np.ndarray) -> list[str]:
    """Ent/O ids as IOB2 tags: a run of Ent is one entity (B- then I-)."""
    return [
        "O" if x != ENT else ("I-ENT" if i and labels[i - 1] == ENT else "B-ENT")
        for i, x in enumerate(labels)
    ]


@pytest.mark.parametrize("seed", range(8))
def test_exact_match_span_scores_agree_with_seqeval(seed):
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    rng = np.random.default_rng(seed)
    gold, pred = [], []
    for _ in range(40):
        n = int(rng.integers(0, 30))
        g = np.where(rng.random(n) < 0.4, ENT, OUTSIDE)
        flip = rng.random(n) < [0.0, 0.1, 0.3, 0.6][seed % 4]
        gold.append(g)
        pred.append(np.where(flip, 1 - g, g))
    ours = span_scores(gold, pred)
    y_true, y_pred = [iob2(g) for g in gold], [iob2(p) for p in pred]
    for mode in ({}, {"mode": "strict", "scheme": IOB2}):
        assert ours["precision"] == pytest.approx(precision_score(y_true, y_pred, **mode))
        assert ours["recall"] == pytest.approx(recall_score(y_true, y_pred, **mode))
        assert ours["f1"] == pytest.approx(f1_score(y_true, y_pred, **mode))
