import numpy as np
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score

from enttag.labels import ENT, OUTSIDE
from enttag.metrics.counts import confusion
from enttag.report.bootstrap import summary
from enttag.report.verdict import explain, verdict

# The researcher's log: 17,920 scored characters, Ent share 0.20 (3,584 Ent).
N_SENT, WIDTH, N_ENT = 560, 32, 3584


def split(flat, width=WIDTH):
    return [np.asarray(s) for s in np.split(np.asarray(flat), len(flat) // width)]


@pytest.fixture(scope="module")
def log_gold():
    flat = np.full(N_SENT * WIDTH, OUTSIDE)
    flat[:N_ENT] = ENT
    return split(np.random.default_rng(0).permutation(flat))


def chance_run(gold, pred_ent_share, seed):
    """Predictions drawn independently of gold."""
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(len(g)) < pred_ent_share, ENT, OUTSIDE) for g in gold]


def flipped(gold, rate, seed):
    """Gold with a share ``rate`` of characters flipped."""
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(len(g)) < rate, 1 - g, g) for g in gold]


def run(gold, pred, **kw):
    return summary(gold, pred, n_boot=kw.pop("n_boot", 500), seed=kw.pop("seed", 7), **kw)


# --- the original log ------------------------------------------------------


def test_log_gold_matches_what_we_know(log_gold):
    s = run(log_gold, log_gold, n_boot=10)
    assert s["n_chars"] == 17_920 and s["n_sentences"] == N_SENT
    assert s["ent_share"] == pytest.approx(0.20)


def test_biw2_everything_o_is_collapsed(log_gold):
    s = run(log_gold, [np.full(len(g), OUTSIDE) for g in log_gold])
    assert s["pred_ent_share"] == 0
    assert verdict(s) == "collapsed"
    assert explain("collapsed", s).startswith("collapsed: 100.0% of characters are predicted O")


def test_biw3_almost_everything_ent_is_collapsed(log_gold):
    rng = np.random.default_rng(3)
    pred = [np.where(rng.random(len(g)) < 0.995, ENT, OUTSIDE) for g in log_gold]
    s = run(log_gold, pred)
    assert 0.99 <= s["pred_ent_share"] < 1
    assert verdict(s) == "collapsed"
    assert "predicted Ent" in explain("collapsed", s)


@pytest.mark.parametrize(
    ("name", "share", "seed"), [("biw4", 0.20, 4), ("biw6", 0.25, 6), ("biw7", 0.18, 7)]
)
def test_chance_runs_are_chance(log_gold, name, share, seed):
    s = run(log_gold, chance_run(log_gold, share, seed))
    # What the log showed: precision at the Ent share, macro F1 near 0.50, a real mix.
    assert s["ent_precision"] == pytest.approx(0.20, abs=0.02), name
    assert s["macro_f1"] == pytest.approx(0.50, abs=0.03), name
    assert 0.1 < s["pred_ent_share"] < 0.3
    assert abs(s["ent_precision_lift"]) < 0.02
    assert verdict(s) == "chance"
    line = explain("chance", s)
    assert line.startswith("chance: Ent precision ")
    assert "within noise of the Ent share 0.200" in line
    assert line.endswith("the model learned nothing")


# --- each branch -----------------------------------------------------------


def test_a_model_that_learned_is_learned(log_gold):
    s = run(log_gold, flipped(log_gold, 0.1, 1))
    assert s["mcc_ci"][0] > 0.5 and s["ent_precision_ci"][0] > s["ent_share"]
    assert verdict(s) == "learned"
    assert explain("learned", s).startswith("learned: Ent precision ")


BASE = {
    "ent_share": 0.2,
    "pred_ent_share": 0.3,
    "mcc_ci": [0.1, 0.2],
    "ent_precision_ci": [0.3, 0.4],
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "learned"),
        ({"pred_ent_share": 0.99}, "collapsed"),
        ({"pred_ent_share": 0.01}, "collapsed"),
        ({"pred_ent_share": 0.0}, "collapsed"),
        ({"pred_ent_share": 0.985}, "learned"),
        ({"pred_ent_share": 0.015}, "learned"),
        ({"mcc_ci": [0.0, 0.2]}, "chance"),
        ({"mcc_ci": [-0.05, 0.02]}, "chance"),
        ({"mcc_ci": [-0.3, -0.2]}, "chance"),
        ({"ent_precision_ci": [0.2, 0.4]}, "chance"),
        ({"ent_precision_ci": [0.19, 0.21]}, "chance"),
        ({"pred_ent_share": 0.995, "mcc_ci": [-0.1, 0.1]}, "collapsed"),
    ],
)
def test_verdict_rules(change, expected):
    assert verdict(BASE | change) == expected


def test_explain_names_each_reason_for_chance():
    s = BASE | {"ent_precision": 0.35, "mcc": 0.02, "mcc_ci": [-0.01, 0.05]}
    assert explain("chance", s) == (
        "chance: MCC 0.020 [-0.010, 0.050] includes 0; the model learned nothing"
    )
    s |= {"ent_precision": 0.201, "ent_precision_ci": [0.19, 0.21]}
    assert explain("chance", s) == (
        "chance: Ent precision 0.201 [0.190, 0.210] is within noise of the Ent share 0.200"
        " and MCC 0.020 [-0.010, 0.050] includes 0; the model learned nothing"
    )


def test_explain_refuses_a_verdict_the_summary_does_not_give():
    with pytest.raises(ValueError, match="does not follow"):
        explain("learned", BASE | {"pred_ent_share": 1.0})
    with pytest.raises(ValueError):
        explain("great", BASE)


# --- scores ----------------------------------------------------------------


def test_point_scores_agree_with_sklearn(log_gold):
    pred = flipped(log_gold, 0.3, 2)
    s = run(log_gold, pred, n_boot=10)
    g, p = np.concatenate(log_gold), np.concatenate(pred)
    assert s["ent_precision"] == pytest.approx(precision_score(g, p, pos_label=ENT))
    assert s["ent_recall"] == pytest.approx(recall_score(g, p, pos_label=ENT))
    assert s["ent_f1"] == pytest.approx(f1_score(g, p, pos_label=ENT))
    assert s["macro_f1"] == pytest.approx(f1_score(g, p, average="macro"))
    assert s["mcc"] == pytest.approx(matthews_corrcoef(g, p))
    assert s["pred_ent_share"] == pytest.approx(np.mean(p == ENT))
    assert s["ent_precision_lift"] == pytest.approx(s["ent_precision"] - s["ent_share"])
    assert s["confusion"] == confusion(g, p)


def test_confusion_rows_are_gold_columns_predicted():
    gold = [np.array([0, 0, 0, 1]), np.array([1, 1])]
    pred = [np.array([0, 1, 1, 0]), np.array([1, 1])]
    expected = {"Ent": {"Ent": 1, "O": 2}, "O": {"Ent": 1, "O": 2}}
    assert confusion(gold, pred) == expected
    assert confusion(np.concatenate(gold), np.concatenate(pred)) == expected


def test_bad_input_is_refused():
    gold = [np.array([0, 1]), np.array([1])]
    with pytest.raises(ValueError, match="sentence 1"):
        run(gold, [np.array([0, 1]), np.array([1, 1])])
    with pytest.raises(ValueError, match="2 gold sentences but 1"):
        run(gold, [np.array([0, 1])])
    with pytest.raises(ValueError, match="labels must be"):
        run(gold, [np.array([0, -100]), np.array([1])])
    with pytest.raises(ValueError, match="n_boot"):
        run(gold, gold, n_boot=0)
    with pytest.raises(ValueError, match="no characters"):
        run([np.array([], dtype=int)], [np.array([], dtype=int)])


# --- bootstrap -------------------------------------------------------------

CI_KEYS = ("ent_f1", "macro_f1", "mcc", "ent_precision")


def test_bootstrap_is_reproducible(log_gold):
    pred = flipped(log_gold, 0.3, 5)
    assert run(log_gold, pred, seed=11) == run(log_gold, pred, seed=11)
    assert run(log_gold, pred, seed=11)["mcc_ci"] != run(log_gold, pred, seed=12)["mcc_ci"]


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.5])
def test_ci_contains_the_point_estimate(log_gold, rate):
    s = run(log_gold, flipped(log_gold, rate, 9))
    for key in CI_KEYS:
        lo, hi = s[f"{key}_ci"]
        assert lo <= s[key] <= hi, key
        assert lo < hi, key


def test_ci_narrows_with_a_larger_alpha(log_gold):
    pred = flipped(log_gold, 0.3, 5)
    wide, narrow = run(log_gold, pred, alpha=0.05), run(log_gold, pred, alpha=0.5)
    assert wide["mcc_ci"][0] < narrow["mcc_ci"][0] < narrow["mcc_ci"][1] < wide["mcc_ci"][1]


def test_bootstrap_resamples_whole_sentences():
    # 100 sentences of 4 Ent then 6 O; both runs miss 100 Ent characters in all.
    gold = [np.array([ENT] * 4 + [OUTSIDE] * 6) for _ in range(100)]
    one_miss_each = [np.array([ENT] * 3 + [OUTSIDE] * 7) for _ in range(100)]
    all_in_25 = [np.full(10, OUTSIDE) if i < 25 else g for i, g in enumerate(gold)]
    spread, lumped = run(gold, one_miss_each), run(gold, all_in_25)
    for key in CI_KEYS:
        assert spread[key] == pytest.approx(lumped[key]), key
        # Every resample of identical sentences has the same totals: the interval is a
        # point (resampling characters would spread it). Lumped errors widen it.
        assert spread[f"{key}_ci"] == [pytest.approx(spread[key])] * 2, key
    for key in ("ent_f1", "macro_f1", "mcc"):  # precision is 1 in every resample
        lo, hi = lumped[f"{key}_ci"]
        assert hi - lo > 0.05, key


def test_baseline_lift_uses_the_same_resamples(log_gold):
    model = flipped(log_gold, 0.1, 1)
    same = run(log_gold, model, baseline_seqs=model)
    assert same["baseline_lift"] == {"ent_f1_diff": 0.0, "ci": [0.0, 0.0]}
    assert "baseline_lift" not in run(log_gold, model)

    s = run(log_gold, model, baseline_seqs=chance_run(log_gold, 0.2, 4))
    base = run(log_gold, chance_run(log_gold, 0.2, 4))
    lift = s["baseline_lift"]
    assert lift["ent_f1_diff"] == pytest.approx(s["ent_f1"] - base["ent_f1"])
    assert 0 < lift["ci"][0] <= lift["ent_f1_diff"] <= lift["ci"][1]
    # The model's own intervals do not depend on the baseline.
    assert s["ent_f1_ci"] == run(log_gold, model)["ent_f1_ci"]
