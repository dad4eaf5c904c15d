import numpy as np
import pytest
from sklearn.metrics import f1_score

from enttag.errors import EnttagError
from enttag.labels import ENT, OUTSIDE, apply_threshold
from enttag.metrics.threshold import best_threshold, pr_curve

# Sorted by P(Ent): Ent .9, O .8, Ent .7, Ent .6, O .3, O .2, Ent .1 (4 Ent).
# Ent F1 at each threshold: .4, .333, .571, .75, .667, .6, .727 -> best 0.6, F1 0.75.
GOLD = np.array([ENT, OUTSIDE, ENT, ENT, OUTSIDE, OUTSIDE, ENT])
P_ENT = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1])


def test_best_threshold_is_the_known_one():
    t, f1 = best_threshold(GOLD, P_ENT)
    assert t == pytest.approx(0.6)
    assert f1 == pytest.approx(0.75)


def test_best_threshold_takes_sentences_and_shuffled_input():
    order = np.random.default_rng(0).permutation(len(GOLD))
    gold, p = GOLD[order], P_ENT[order]
    assert best_threshold([gold[:3], gold[3:]], [p[:3], p[3:]]) == pytest.approx((0.6, 0.75))


def test_separable_probabilities_give_f1_one_at_the_lowest_ent_probability():
    gold = np.array([OUTSIDE, ENT, OUTSIDE, ENT, ENT])
    p = np.array([0.1, 0.65, 0.4, 0.9, 0.7])
    assert best_threshold(gold, p) == pytest.approx((0.65, 1.0))


def test_best_threshold_f1_is_the_f1_of_applying_it():
    rng = np.random.default_rng(1)
    gold = (rng.random(2000) > 0.2).astype(int)
    p = np.clip(np.where(gold == ENT, 0.6, 0.4) + rng.normal(0, 0.2, gold.size), 0, 1)
    t, f1 = best_threshold(gold, p)
    assert f1 == pytest.approx(f1_score(gold, apply_threshold(p, t), pos_label=ENT))
    for other in np.linspace(0.05, 0.95, 19):
        assert f1_score(gold, apply_threshold(p, other), pos_label=ENT) <= f1 + 1e-12


def test_no_ent_in_gold_is_refused_in_one_line():
    with pytest.raises(EnttagError, match="no Ent") as caught:
        best_threshold(np.full(3, OUTSIDE), np.array([0.1, 0.5, 0.9]))
    assert "\n" not in str(caught.value)


def test_apply_threshold_predicts_ent_at_or_above_t():
    assert apply_threshold(P_ENT, 0.6).tolist() == [ENT] * 4 + [OUTSIDE] * 3
    sentences = apply_threshold([P_ENT[:2], P_ENT[2:]], 0.8)
    assert [s.tolist() for s in sentences] == [[ENT, ENT], [OUTSIDE] * 5]


def test_pr_curve_small_input_keeps_every_threshold():
    curve = pr_curve(GOLD, P_ENT)
    assert curve["threshold"] == pytest.approx([0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9])
    assert curve["recall"] == pytest.approx([1, 0.75, 0.75, 0.75, 0.5, 0.25, 0.25])
    assert curve["precision"] == pytest.approx([4 / 7, 3 / 6, 3 / 5, 3 / 4, 2 / 3, 1 / 2, 1])


def test_pr_curve_is_thinned_for_plotting():
    rng = np.random.default_rng(2)
    gold = (rng.random(10_000) > 0.2).astype(int)
    p = rng.random(10_000)
    curve = pr_curve(gold, p)
    assert len(curve["precision"]) == len(curve["recall"]) == len(curve["threshold"]) == 200
    assert np.all(np.diff(curve["threshold"]) > 0)
    assert curve["threshold"][0] == p.min() and curve["threshold"][-1] == p.max()
    assert curve["recall"][0] == 1.0
    assert len(pr_curve(gold, p, max_points=50)["threshold"]) == 50
