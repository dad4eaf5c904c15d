"""The CRF baseline: its features, its fit on the tiny corpus, and its DVC stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support.shipped import section

from enttag.baseline.crf import CrfBaseline
from enttag.baseline.features import BOS, EOS, char_features
from enttag.baseline.marginals import CrfMarginals
from enttag.baseline.window_lr import WindowBaseline
from enttag.data.readers import read_corpus
from enttag.labels import ENT, LABELS, TAG_B, TAGS, apply_threshold, tags_of
from enttag.metrics.counts import ent_prf


def test_char_features_are_unigram_and_bigram_windows():
    assert char_features("北京", 1) == [
        ["bias", f"u-1={BOS}", "u0=北", "u1=京", f"b-1={BOS}北", "b0=北京"],
        ["bias", "u-1=北", "u0=京", f"u1={EOS}", "b-1=北京", f"b0=京{EOS}"],
    ]
    assert char_features("北", 0) == [["bias", "u0=北"]]


def gold_of(sentences) -> list[np.ndarray]:
    return [np.array([LABELS.index(t) for t in s.labels]) for s in sentences]


def test_crf_marginals_tag_the_tiny_corpus_better_than_the_lr(tiny_corpus):
    cfg = section("baseline")
    train = read_corpus(tiny_corpus / "train.txt", "conll")
    test = read_corpus(tiny_corpus / "test.txt", "conll")
    crf = CrfBaseline(cfg.window, cfg.c1, cfg.c2, 30).fit(train)
    p_ent = crf.probs([s.text for s in test])[:, 0]
    assert p_ent.dtype == np.float32 and len(p_ent) == sum(len(s.text) for s in test)
    assert 0 <= p_ent.min() and p_ent.max() <= 1
    # the marginals agree with the CRF's own Viterbi path on nearly every character
    tagger = CrfMarginals(crf.model, cfg.window).tagger
    viterbi = np.array(
        [t == "Ent" for s in test for t in tagger.tag(char_features(s.text, cfg.window))]
    )
    assert np.mean((p_ent >= 0.5) == viterbi) > 0.98
    gold = gold_of(test)
    cuts = np.cumsum([len(g) for g in gold])[:-1]

    def f1(p):
        return ent_prf(gold, [np.where(x >= 0.5, ENT, 1 - ENT) for x in np.split(p, cuts)])[
            "ent_f1"
        ]

    lr = WindowBaseline(cfg.window, cfg.c, cfg.max_iter).fit(train)
    assert f1(p_ent) > 0.8
    assert f1(p_ent) > f1(lr.probs([s.text for s in test])[:, 0])


def test_a_bio_crf_keeps_adjacent_entities_apart(tiny_corpus):
    """With ``tags="bio"`` the CRF learns B/I/O: P(Ent) = P(B) + P(I), P(B | Ent) = P(B) /
    P(Ent), and decoding both gives the CRF's own Viterbi tags on nearly every character;
    an Ent/O CRF's P(B | Ent) is 0."""
    cfg = section("baseline")
    train = read_corpus(tiny_corpus / "train.txt", "conll")
    test = read_corpus(tiny_corpus / "test.txt", "conll")
    crf = CrfBaseline(cfg.window, cfg.c1, cfg.c2, 30, tags="bio").fit(train)
    marginals = CrfMarginals(crf.model, cfg.window)
    assert marginals.tags == "bio" and set(marginals.tagger.labels()) == {"B", "I", "O"}
    probs = marginals.probs([s.text for s in test])
    decoded, viterbi = [], []
    for s, p in zip(test, probs, strict=True):
        assert p.shape == (len(s.text), 2) and (0 <= p).all() and (p <= 1 + 1e-6).all()
        decoded += tags_of(apply_threshold(p[:, 0], 0.5), p[:, 1]).tolist()
        viterbi += [TAGS.index(t) for t in marginals.tagger.tag(char_features(s.text, cfg.window))]
    assert np.mean(np.array(decoded) == np.array(viterbi)) > 0.97
    assert TAG_B in decoded
    io_crf = CrfBaseline(cfg.window, cfg.c1, cfg.c2, 5).fit(train)
    assert not io_crf.probs([s.text for s in test])[:, 1].any()


@pytest.mark.slow
def test_stage_writes_crf_marginals_and_evaluate_compares_paired(tiny_repo):
    baseline = np.load(tiny_repo / "data/baseline/p_ent.npz")
    stats = json.loads((tiny_repo / "data/prepared/stats.json").read_text())
    assert str(baseline["kind"]) == "crf"
    assert len(baseline["test"]) == stats["test"]["characters"]
    test = json.loads((tiny_repo / "metrics/test_report.json").read_text())
    lean = json.loads((tiny_repo / "metrics/test.json").read_text())
    assert test["baseline"]["kind"] == "crf"
    assert lean["beats_baseline"] == test["beats_baseline"]
    lo, hi = test["baseline_lift"]["ci"]
    assert test["beats_baseline"] == (
        "yes" if lo > 0 else "no" if hi < 0 else "not distinguishable"
    )
    assert (
        f"beats baseline: {test['beats_baseline']}"
        in (tiny_repo / "metrics/test_report.txt").read_text()
    )
    rows = [
        json.loads(r) for r in (tiny_repo / "metrics/test_counts.jsonl").read_text().splitlines()
    ]
    tp, fn, fp, tn = np.sum(rows, axis=0)
    c = test["confusion"]
    assert (tp, fn, fp, tn) == (c["Ent"]["Ent"], c["Ent"]["O"], c["O"]["Ent"], c["O"]["O"])
