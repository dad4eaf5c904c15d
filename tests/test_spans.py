import numpy as np
import pytest

from enttag.labels import ENT, OUTSIDE, bio_spans, spans, tag_ids
from enttag.report.spans import Tagged, entity_errors, span_scores, view_rows, worst_sentences

NONE = {"boundary": 0, "merged": 0, "split": 0, "missed": 0, "spurious": 0}


def tags(marks: str) -> np.ndarray:
    """``"EE.E"`` -> Ent, Ent, O, Ent."""
    return np.array([ENT if c == "E" else OUTSIDE for c in marks])


def entities(marks: str) -> list[tuple[int, int]]:
    """``"BI.B"`` -> the entities of those B/I/O tags."""
    return bio_spans(tag_ids(["O" if c == "." else c for c in marks]))


def errors(gold: str, pred: str) -> dict[str, int]:
    """Entity errors of gold B/I/O tags against predicted Ent/O labels (its runs)."""
    return entity_errors(entities(gold), spans(tags(pred)))


def test_spans_are_maximal_half_open_runs_of_ent():
    assert spans(tags("EE.E..E")) == [(0, 2), (3, 4), (6, 7)]
    assert spans(tags("....")) == []
    assert spans(tags("EEE")) == [(0, 3)]
    assert spans(np.array([], dtype=int)) == []


def test_adjacent_entities_merge_into_one_span_but_not_into_one_entity():
    # Caveat of span F1: "北京上海" is two gold entities, but with no O between them the
    # Ent/O labels hold one span, and predicting that one span counts as an exact match.
    gold = tags("EEEE.")
    assert spans(gold) == [(0, 4)]
    assert span_scores([gold], [gold])["gold_spans"] == 1
    # against the corpus's entities the same prediction merges two
    assert errors("BIBI.", "EEEE.") == NONE | {"merged": 1}


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
        ("..BII...", "..EEE...", {}),
        ("..BII...", ".EEEE...", {"boundary": 1}),
        ("..BII...", "..EE....", {"boundary": 1}),
        ("..BII...", "...EEE..", {"boundary": 1}),  # shifted
        ("..BIIII.", "..EE.EE.", {"split": 1}),  # one gold entity, two predicted
        ("..BII...", "........", {"missed": 1}),
        ("........", ".EE.....", {"spurious": 1}),
        (".BI.BI..", ".EEEEE..", {"merged": 1}),
        ("BIBI....", "EEEE....", {"merged": 1}),  # touching entities, one run
        ("BI..B..B", "EEE.....", {"boundary": 1, "missed": 2}),
        ("BI....B.", "EE.EE...", {"spurious": 1, "missed": 1}),
    ],
)
def test_entity_errors_count_each_error_once(gold, pred, expected):
    assert errors(gold, pred) == NONE | expected


TEXTS = ["北京是首都", "我在上海和杭州", "今天天气好", "张三来了", "北京上海"]
GOLD_TAGS = ["BI...", "..BI.BI", ".....", "BI..", "BIBI"]
PRED = [tags("EEE.."), tags("...E..."), tags("E...."), tags("EE.."), tags("EEEE")]
TAGGED = Tagged(
    TEXTS,
    [tags(g.replace("B", "E").replace("I", "E")) for g in GOLD_TAGS],
    PRED,
    [entities(g) for g in GOLD_TAGS],
)


def test_worst_sentences_most_character_then_entity_errors_first():
    worst = worst_sentences(TAGGED, 10)
    # character errors 3, 1, 1, 0 (a merge only); sentence 3 is right
    assert [w["index"] for w in worst] == [1, 0, 2, 4]
    assert [w["errors"] for w in worst] == [3, 1, 1, 0]
    assert [w["index"] for w in worst_sentences(TAGGED, 2)] == [1, 0]
    assert worst_sentences(TAGGED, 0) == []


def test_worst_sentences_entries_show_the_corpus_entities():
    first, *_, merged = worst_sentences(TAGGED, 10)
    assert first == {
        "index": 1,
        "text": "我在上海和杭州",
        "errors": 3,
        "gold_spans": [[2, 4, "上海"], [5, 7, "杭州"]],
        "pred_spans": [[3, 4, "海"]],
        "error_kinds": NONE | {"boundary": 1, "missed": 1},
    }
    assert merged["gold_spans"] == [[0, 2, "北京"], [2, 4, "上海"]]
    assert merged["pred_spans"] == [[0, 4, "北京上海"]]
    assert merged["error_kinds"] == NONE | {"merged": 1}


def test_a_merge_without_character_errors_is_not_sampled_as_correct():
    rows = view_rows([], TAGGED, [np.zeros(len(t)) for t in TEXTS], n_correct=5, seed=0)
    assert [r["index"] for r in rows] == [3]


def test_tagged_refuses_misaligned_texts_and_entities():
    with pytest.raises(ValueError, match="texts"):
        Tagged(["北京"] + TEXTS[1:], TAGGED.gold, PRED, TAGGED.gold_entities)
    with pytest.raises(ValueError, match="entities of 4"):
        Tagged(TEXTS, TAGGED.gold, PRED, TAGGED.gold_entities[:4])


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
