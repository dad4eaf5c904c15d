"""evaluate's entity scores: strict P/R/F1 against seqeval, the character bootstrap's draws,
the paired lift, an entity across a window cut, the gold's alignment and the lean keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from support.shipped import section

from enttag.data.prepare import write_prepared
from enttag.data.readers import Sentence
from enttag.encode.charmap import Specials
from enttag.encode.windows import encode_split, window_bounds
from enttag.entities import entity_counts, entity_prf
from enttag.errors import EnttagError
from enttag.labels import ENT, OUTSIDE, apply_threshold, bio_spans, tag_ids
from enttag.metrics.counts import scores as char_scores
from enttag.metrics.counts import sentence_counts
from enttag.model.inference import predict
from enttag.report import bootstrap
from enttag.report.evaluate import (
    Outputs,
    entity_scores,
    headline,
    prepared_entities,
    score_split,
)
from enttag.report.spans import predicted_entities

CFG = section("evaluate", bootstrap=40)


def gold_tags(marks: str) -> list[str]:
    """``"BI.B"`` -> ``["B", "I", "O", "B"]``."""
    return ["O" if c == "." else c for c in marks]


def ent_o(marks: str) -> np.ndarray:
    """``"EE.E"`` -> Ent, Ent, O, Ent."""
    return np.array([ENT if c == "E" else OUTSIDE for c in marks])


def iob2(labels: np.ndarray) -> list[str]:
    """Ent/O ids as IOB2 tags: a run of Ent is one entity."""
    return [
        "O" if x != ENT else ("I-E" if i and labels[i - 1] == ENT else "B-E")
        for i, x in enumerate(labels)
    ]


def entities_of(gold: list[str]) -> list[list[tuple[int, int]]]:
    return [bio_spans(tag_ids(gold_tags(g))) for g in gold]


CASES = {  # gold B/I/O tags, predicted Ent/O
    "touching entities merged by one run": (["BIBI..", ".BB"], ["EEEE..", ".EE"]),
    "an entity at the sentence end": (["...BI", "..BII"], ["...EE", "...EE"]),
    "sentences without entities": (["....", "....", "BI.."], ["....", ".E..", "EE.."]),
    "a split, a miss and a spurious one": (["BIII..BI", "..B..."], ["EE.E....", "....EE"]),
}


def assert_seqeval(gold: list[str], pred: list[str]) -> dict:
    """evaluate's entity scores equal seqeval's strict IOB2 ones, predictions as IOB2."""
    ours = entity_scores(entities_of(gold), predicted_entities([ent_o(p) for p in pred]), CFG)
    y_true = [[t if t == "O" else f"{t}-E" for t in gold_tags(g)] for g in gold]
    y_pred = [iob2(ent_o(p)) for p in pred]
    for name, score in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        assert ours[name] == pytest.approx(score(y_true, y_pred, mode="strict", scheme=IOB2))
    return ours


@pytest.mark.parametrize("case", CASES)
def test_entity_scores_are_seqeval_strict_iob2(case):
    assert_seqeval(*CASES[case])


def test_touching_entities_cap_an_ent_o_tagger():
    ours = assert_seqeval(["BIBI.."], ["EEEE.."])
    assert (ours["correct"], ours["predicted"], ours["gold"]) == (0, 1, 2)
    assert ours["kinds"]["merged"] == {"predicted": 1, "gold": 2}


@pytest.mark.parametrize("seed", range(4))
def test_random_sentences_agree_with_seqeval(seed):
    rng = np.random.default_rng(seed)
    gold, pred = [], []
    for _ in range(30):
        n = int(rng.integers(1, 25))
        tags = "".join(rng.choice(list("BI..."), n)).replace(".I", ".B")
        gold.append("B" + tags[1:] if tags[0] == "I" else tags)  # every entity opens with B
        pred.append("".join(rng.choice(list("EE..."), n)))
    assert_seqeval(gold, pred)


GOLD_TAGS = ["BI..B..", ".BB.", "....", "..BII"]
GOLD = [ent_o(g.replace("B", "E").replace("I", "E")) for g in GOLD_TAGS]
P_ENT = [np.array([0.9, 0.4, 0.6, 0.1, 0.8, 0.2, 0.1]), np.array([0.7, 0.55, 0.6, 0.2])]
P_ENT += [np.full(4, 0.1), np.array([0.1, 0.2, 0.9, 0.8, 0.7])]
BASELINE = [np.array([0.6, 0.6, 0, 0, 0, 0, 0]), np.zeros(4), np.zeros(4), np.full(5, 0.7)]
ENCODER = [np.where(g == ENT, 0.8, 0.3) for g in GOLD]


def io(p_ent: list[np.ndarray]) -> Outputs:
    """An Ent/O system's outputs: P(B | Ent) is 0."""
    return Outputs(p_ent, [np.zeros_like(p) for p in p_ent])


def three_systems() -> dict:
    return score_split(
        GOLD,
        io(P_ENT),
        entities=entities_of(GOLD_TAGS),
        cfg=CFG,
        cut=0.5,
        threshold=None,
        baseline=io(BASELINE),
        baseline_kind="crf",
        encoder=io(ENCODER),
    ).metrics


def test_entity_intervals_resample_the_character_bootstraps_sentences(monkeypatch):
    weights, draws = [], bootstrap.draws

    def spy(n: int, n_boot: int, seed: int) -> np.ndarray:
        weights.append(draws(n, n_boot, seed))
        return weights[-1]

    monkeypatch.setattr(bootstrap, "draws", spy)
    m = three_systems()
    assert len(weights) >= 7  # characters and entities of three systems, and a paired lift
    assert all(np.array_equal(w, weights[0]) for w in weights)
    assert weights[0].shape == (CFG.bootstrap, len(GOLD))
    pred = apply_threshold(P_ENT, 0.5)
    char_f1 = char_scores(weights[0] @ sentence_counts(GOLD, pred))["ent_f1"]
    assert m["ent_f1_ci"] == pytest.approx(np.quantile(char_f1, [0.025, 0.975]).tolist())
    found = entity_counts(entities_of(GOLD_TAGS), predicted_entities(pred))
    entity_f1 = entity_prf(weights[0] @ found)["f1"]
    assert m["entities"]["f1_ci"] == pytest.approx(np.quantile(entity_f1, [0.025, 0.975]).tolist())


def test_the_entity_lift_is_paired_and_signed():
    gold = entities_of(["BI.BI."] * 30)
    apart = predicted_entities([ent_o("EE.EE.")] * 30)
    merged = predicted_entities([ent_o("EEEEE.")] * 30)
    better = entity_scores(gold, apart, CFG, merged)
    assert better["baseline_lift"]["f1_diff"] == 1.0 and better["beats_baseline"] == "yes"
    worse = entity_scores(gold, merged, CFG, apart)
    assert worse["baseline_lift"]["f1_diff"] == -1.0 and worse["beats_baseline"] == "no"
    same = entity_scores(gold, apart, CFG, apart)
    assert same["baseline_lift"] == {"f1_diff": 0.0, "ci": [0.0, 0.0]}
    assert same["beats_baseline"] == "not distinguishable"


class Marker(torch.nn.Module):
    """A stand-in model: P(Ent) 0.95 on the token ids in ``ent``, 0.05 elsewhere."""

    def __init__(self, ent: list[int]):
        super().__init__()
        self.ent = torch.tensor(ent)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logit = torch.where(torch.isin(ids, self.ent), 1.5, -1.5)
        return torch.stack([logit, -logit], dim=-1)

    def probs(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        p_ent = torch.softmax(logits, dim=-1)[..., ENT]
        return torch.stack([p_ent, torch.zeros_like(p_ent)], dim=-1)


def test_an_entity_across_a_window_cut_is_one_predicted_entity():
    max_length, stride, n = 16, 4, 40
    bounds = window_bounds(n, max_length - 2, stride)
    cut = bounds[0][3]  # the first window scores [0, cut), the second from cut on
    entity = (cut - 3, cut + 3)
    text = "".join(chr(0x4E00 + i) for i in range(n))
    tags = ["B" if i == entity[0] else "I" if entity[0] < i < entity[1] else "O" for i in range(n)]
    char_map = {c: 10 + i for i, c in enumerate(text)}
    data = encode_split([text], [tags], char_map, Specials(1, 2, 0, 3), max_length, stride)
    assert len(data) >= 3 and 0 < cut < n
    p_ent, _, _ = predict(
        Marker([char_map[c] for c in text[slice(*entity)]]),
        data,
        batch_size=2,
        pad_id=0,
        device=torch.device("cpu"),
    )
    pred = apply_threshold(p_ent, 0.5)
    assert predicted_entities(pred) == [[entity]]
    ours = entity_scores([[entity]], predicted_entities(pred), CFG)
    assert (ours["correct"], ours["predicted"], ours["gold"], ours["f1"]) == (1, 1, 1, 1.0)


def test_prepared_entities_are_checked_against_the_scored_sentences(tmp_path):
    sentences = [Sentence("北京上海", tuple("BIBI")), Sentence("他来了", tuple("BOO"))]
    write_prepared({"test": sentences}, tmp_path, {})
    path = tmp_path / "test.jsonl"
    gold = [ent_o("EEEE"), ent_o("E..")]
    assert prepared_entities(path, gold) == (["北京上海", "他来了"], [[(0, 2), (2, 4)], [(0, 1)]])
    with pytest.raises(EnttagError, match=rf"^{path}: 2 sentences but 1 were scored$"):
        prepared_entities(path, gold[:1])
    with pytest.raises(EnttagError, match=rf"^{path}: sentence 2 has 3 characters but 4 were"):
        prepared_entities(path, [gold[0], ent_o("E...")])
    with pytest.raises(EnttagError, match=rf"^{path}: sentence 1's tags disagree"):
        prepared_entities(path, [ent_o("EEE."), gold[1]])


def test_the_lean_metrics_hold_the_entity_keys():
    m = three_systems() | {"fusion": {"rule": "logodds", "weight": 0.5}}
    lean = headline(m, {"dev": {"ent_f1": 0.7}, "best_step": 3})
    assert set(lean) == {
        *("ent_precision", "ent_recall", "ent_f1", "ent_f1_lo", "ent_f1_hi", "macro_f1"),
        *("mcc", "verdict", "span_f1", "baseline_ent_f1", "lift", "lift_lo", "lift_hi"),
        *("beats_baseline", "best_dev_ent_f1", "best_step"),
        *("encoder_ent_f1", "encoder_ent_f1_lo", "encoder_ent_f1_hi", "encoder_span_f1"),
        *("encoder_lift", "encoder_lift_lo", "encoder_lift_hi", "encoder_beats_baseline"),
        *("fused_minus_encoder", "fused_minus_encoder_lo", "fused_minus_encoder_hi"),
        *("entity_f1", "entity_f1_lo", "entity_f1_hi", "baseline_entity_f1", "entity_lift"),
        *("entity_lift_lo", "entity_lift_hi", "entity_beats_baseline", "encoder_entity_f1"),
    }
    entities = m["entities"]
    assert (lean["entity_f1"], [lean["entity_f1_lo"], lean["entity_f1_hi"]]) == (
        entities["f1"],
        entities["f1_ci"],
    )
    assert lean["entity_lift"] == entities["baseline_lift"]["f1_diff"]
    assert lean["entity_beats_baseline"] == entities["beats_baseline"]
    assert lean["baseline_entity_f1"] == m["baseline"]["entities"]["f1"]
    assert lean["encoder_entity_f1"] == m["encoder"]["entities"]["f1"]
    assert all(isinstance(v, int | float | str) for v in lean.values())
