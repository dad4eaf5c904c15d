"""evaluate on a constructed model output, against a report worked out by hand.

Two sentences, 11 characters (0 = Ent, 1 = O):

    gold      E E O O E O O | O E E O
    P(Ent)   .9 .4 .6 .1 .8 .2 .1 | .7 .55 .6 .2
    at 0.5    E O E O E O O | E E E O

Ent: TP 4 (chars 0, 4, 8, 9), FN 1 (char 1), FP 2 (chars 2, 7); O: TN 4.
Spans (runs of Ent): gold (0,2) (4,5) | (1,3); predicted (0,1) (2,3) (4,5) | (0,3): one
exact match.
Entities: the gold tags are B I O O B O O | O B B O, so the second sentence holds two
touching entities (1,2) (2,3), one run of Ent. Predicted entities are the runs: (4,5) is
exact, (0,1) a boundary error on (0,2), (2,3) spurious, (0,3) merges (1,2) and (2,3):
1 correct of 4 predicted and 4 gold.
At the dev threshold 0.35 the second character is Ent too: TP 5, FN 0, FP 2.
The baseline says Ent for the first two characters only: TP 2, FN 3, FP 0; one entity,
(0,2), exact.
"""

from __future__ import annotations

import numpy as np
import pytest
from support.shipped import section

from enttag.errors import EnttagError
from enttag.labels import bio_spans, tag_ids
from enttag.report.evaluate import Outputs, check_supports, ci, report_text, score_split

GOLD = [np.array([0, 0, 1, 1, 0, 1, 1]), np.array([1, 0, 0, 1])]
ENTITIES = [bio_spans(tag_ids(t)) for t in ("BIOOBOO", "OBBO")]
P_ENT = [np.array([0.9, 0.4, 0.6, 0.1, 0.8, 0.2, 0.1]), np.array([0.7, 0.55, 0.6, 0.2])]
BASELINE = [np.array([0.6, 0.6, 0, 0, 0, 0, 0]), np.zeros(4)]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p, r = tp / (tp + fp), tp / (tp + fn)
    return p, r, 2 * p * r / (p + r)


@pytest.fixture(scope="module")
def scores():
    return score_split(
        GOLD,
        Outputs(P_ENT, [np.zeros_like(p) for p in P_ENT]),
        entities=ENTITIES,
        cfg=section("evaluate", bootstrap=50),
        cut=0.5,
        threshold=0.35,
        baseline=Outputs(BASELINE, [np.zeros_like(p) for p in BASELINE]),
        baseline_kind="crf",
    )


def test_per_class_report_is_the_hand_computed_one(scores):
    m = scores.metrics
    tp, fn, fp, tn = 4, 1, 2, 4
    ent_p, ent_r, ent_f1 = prf(tp, fp, fn)  # 4/6, 4/5, 8/11
    o_p, o_r, o_f1 = prf(tn, fn, fp)  # O's own TP is TN: 4/5, 4/6, 8/11
    assert (ent_p, ent_r) == (4 / 6, 4 / 5) and (o_p, o_r) == (4 / 5, 4 / 6)
    assert m["Ent"] == pytest.approx(
        {"precision": ent_p, "recall": ent_r, "f1-score": ent_f1, "support": 5}
    )
    assert m["O"] == pytest.approx(
        {"precision": o_p, "recall": o_r, "f1-score": o_f1, "support": 6}
    )
    assert m["accuracy"] == pytest.approx(8 / 11)
    assert m["macro avg"]["precision"] == pytest.approx((ent_p + o_p) / 2)
    assert m["weighted avg"]["recall"] == pytest.approx((5 * ent_r + 6 * o_r) / 11)
    assert m["confusion"] == {"Ent": {"Ent": tp, "O": fn}, "O": {"Ent": fp, "O": tn}}
    mcc = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert m["mcc"] == pytest.approx(mcc)
    assert m["ent_share"] == pytest.approx(5 / 11) and m["pred_ent_share"] == pytest.approx(6 / 11)


def test_spans_entities_threshold_and_baseline_are_hand_computed(scores):
    m = scores.metrics
    p, r = 1 / 4, 1 / 3
    assert m["spans"] == pytest.approx(
        {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r),
            "gold_spans": 3,
            "pred_spans": 4,
            "exact_matches": 1,
        }
    )
    assert ENTITIES == [[(0, 2), (4, 5)], [(1, 2), (2, 3)]]
    entities = m["entities"]
    assert entities["precision"] == entities["recall"] == entities["f1"] == 1 / 4
    assert (entities["correct"], entities["predicted"], entities["gold"]) == (1, 4, 4)
    assert entities["kinds"] == {
        "exact": {"predicted": 1, "gold": 1},
        "boundary": {"predicted": 1, "gold": 1},
        "merged": {"predicted": 1, "gold": 2},
        "split": {"predicted": 0, "gold": 0},
        "missed": {"predicted": 0, "gold": 0},
        "spurious": {"predicted": 1, "gold": 0},
    }
    base = m["baseline"]["entities"]
    assert (base["precision"], base["recall"], base["f1"]) == (1.0, 1 / 4, 2 / 5)
    assert entities["baseline_lift"]["f1_diff"] == pytest.approx(1 / 4 - 2 / 5)
    assert entities["beats_baseline"] in ("no", "not distinguishable")
    tuned_p, tuned_r, tuned_f1 = prf(5, 2, 0)
    tuned = m["at_dev_threshold"]
    assert tuned["threshold"] == 0.35
    assert (tuned["ent_precision"], tuned["ent_recall"]) == pytest.approx((tuned_p, tuned_r))
    assert tuned["ent_f1"] == pytest.approx(tuned_f1)
    o_f1 = 2 * 4 / (2 * 4 + 0 + 2)  # O at 0.35: TP 4, FN 2 (chars 2, 7), FP 0
    assert tuned["macro_f1"] == pytest.approx((tuned_f1 + o_f1) / 2)
    base_p, base_r, base_f1 = prf(2, 0, 3)
    assert m["baseline"]["ent_precision"] == pytest.approx(base_p)
    assert m["baseline"]["ent_recall"] == pytest.approx(base_r)
    assert m["baseline"]["ent_f1"] == pytest.approx(base_f1)
    assert m["baseline_lift"]["ent_f1_diff"] == pytest.approx(8 / 11 - base_f1)


def test_report_text_and_support_check(scores):
    text = report_text("test", scores)
    assert text.startswith("test: 11 characters scored\n")
    assert f"(linear-chain CRF): Ent F1 {4 / 7:.4f}; paired lift {8 / 11 - 4 / 7:+.4f}" in text
    lines = text.splitlines()
    assert lines[lines.index("system            P       R       F1 [95% CI]") + 1 :][:2] == [
        f"shipped           0.2500  0.2500  0.2500 {ci(scores.metrics['entities']['f1_ci'])}",
        f"linear-chain CRF  1.0000  0.2500  0.4000 "
        f"{ci(scores.metrics['baseline']['entities']['f1_ci'])}",
    ]
    assert "  shipped - baseline: -0.1500 95% CI [" in text
    check_supports("test", scores.metrics, 11)
    for wrong in (10, 12):
        with pytest.raises(
            EnttagError, match=rf"supports add up to 11\S* but the split has {wrong} "
        ):
            check_supports("test", scores.metrics, wrong)
