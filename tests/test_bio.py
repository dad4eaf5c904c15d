"""The B/I/O tag scheme (``model.tags: bio``): decoding P(Ent) and P(B | Ent) into entities
(seqeval is the oracle), the 3-class head, and a B/I/O model through every way out:
the Tagger, ``enttag predict``, the ONNX export and the transformers export."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities
from support.models import LONG, TEXT, save_tiny_model
from support.process import ROOT, run

from enttag.cli import main
from enttag.encode.windows import IGNORE
from enttag.labels import (
    CLASSES,
    ENT,
    OUTSIDE,
    TAG_B,
    TAG_I,
    TAG_O,
    TAGS,
    apply_threshold,
    class_probs,
    spans_from_probs,
    tag_ids,
    tags_from_probs,
    tags_of,
)
from enttag.model.network import EntityTagger, class_weights, load_encoder, read_checkpoint
from enttag.tagging.export import export
from enttag.tagging.hf_export import export_transformers
from enttag.tagging.tagger import Tagger

TEXTS = [TEXT, LONG, "", "李四去了北京。"]


def probs_of(marks: str) -> tuple[np.ndarray, np.ndarray]:
    """P(Ent) and P(B | Ent) of ``"BI.B"``-style marks: B and I sure Ent, B sure to open."""
    p_ent = np.array([0.9 if c in "BI" else 0.1 for c in marks], dtype=np.float32)
    p_begin = np.array([0.8 if c == "B" else 0.2 for c in marks], dtype=np.float32)
    return p_ent, p_begin


def seqeval_default(marks: str) -> list[tuple[int, int]]:
    """seqeval's default-mode entities of the marks (an I after O opens one)."""
    tags = ["O" if c == "." else f"{c}-E" for c in marks]
    return [(s, e + 1) for _, s, e in get_entities(tags)]


def seqeval_strict(marks: str) -> list[tuple[int, int]]:
    tags = ["O" if c == "." else f"{c}-E" for c in marks]
    return [(e.start, e.end) for e in Entities([tags], IOB2).entities[0]]


@pytest.mark.parametrize(
    "marks",
    [
        "BIBI..",  # two adjacent entities
        "BBB",  # three one-character entities in a row
        ".II.B",  # an I after O
        "I",  # an I first
        "...BI",  # an entity at the end
        "BI...",  # one at the start
        "....",
        "",
    ],
)
def test_decoding_follows_seqeval(marks):
    p_ent, p_begin = probs_of(marks)
    got = [(s, e) for s, e, _ in spans_from_probs("字" * len(marks), p_ent, 0.5, p_begin)]
    assert got == seqeval_default(marks)
    canonical = tags_of(apply_threshold(p_ent, 0.5), p_begin)  # every entity opens with B
    marks_out = "".join("BI."[t] for t in canonical)
    assert got == seqeval_strict(marks_out)
    # an Ent/O tagger (no P(B | Ent)) reads each run of Ent as one entity
    runs = [(s, e) for s, e, _ in spans_from_probs("字" * len(marks), p_ent, 0.5)]
    assert runs == seqeval_default(marks.replace("B", "I"))


@pytest.mark.parametrize("seed", range(3))
def test_random_tags_come_back_from_their_probabilities(seed):
    rng = np.random.default_rng(seed)
    for _ in range(50):
        marks = "".join(rng.choice(list("BI..."), int(rng.integers(1, 30))))
        p_ent, p_begin = probs_of(marks)
        tags = tags_from_probs(p_ent, 0.5, p_begin)
        expected = [
            ("B" if i == 0 or marks[i - 1] == "." else c) if c != "." else "O"
            for i, c in enumerate(marks)
        ]
        assert tags == [t if t == "O" else f"{t}-Ent" for t in expected]
        assert tags_from_probs(p_ent, 0.5) == ["O" if c == "." else "Ent" for c in marks]


def test_class_probs_add_up_and_give_back_p_ent():
    p_ent, p_begin = probs_of("BI.B")
    bio = class_probs(np.stack([p_ent, p_begin], axis=1), "bio")
    np.testing.assert_allclose(bio.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(bio[:, TAG_B] + bio[:, TAG_I], p_ent, atol=1e-6)
    assert bio.argmax(axis=1).tolist() == [TAG_B, TAG_I, TAG_O, TAG_B]


def test_the_bio_head_has_three_classes_weighted_like_ent(tiny_encoder):
    model = EntityTagger(load_encoder(tiny_encoder, None, 0.0), tags="bio")
    assert model.head.out_features == 3 and model.classes == CLASSES["bio"] == (
        "B-Ent",
        "I-Ent",
        "O",
    )
    assert class_weights("bio", 4.0, 1.0).tolist() == [4.0, 4.0, 1.0]
    assert class_weights("io", 4.0, 1.0).tolist() == [4.0, 1.0]
    tags = torch.tensor([[IGNORE, TAG_B, TAG_I, TAG_O, IGNORE]])
    assert model.targets(tags).tolist() == tags.tolist()
    io = EntityTagger(load_encoder(tiny_encoder, None, 0.0), tags="io")
    assert io.targets(tags).tolist() == [[IGNORE, ENT, ENT, OUTSIDE, IGNORE]]
    ids = torch.tensor([[2, 5, 6, 7, 3]])
    mask = torch.ones_like(ids)
    probs = model.eval().probs(model(ids, mask), mask)
    softmax = torch.softmax(model(ids, mask), -1)
    torch.testing.assert_close(probs[..., 0], softmax[..., TAG_B] + softmax[..., TAG_I])
    torch.testing.assert_close(probs[..., 0] * probs[..., 1], softmax[..., TAG_B])
    assert (io.eval().probs(io(ids, mask), mask)[..., 1] == 0).all()  # Ent/O: no P(B | Ent)
    with pytest.raises(Exception, match="tag scheme"):
        EntityTagger(load_encoder(tiny_encoder, None, 0.0), tags="bioes")


class Stub:
    """A backend that marks 张, 三, 李, 四 as Ent and opens an entity at 张 and 李."""

    def __init__(self, char_map):
        self.ent = torch.tensor([char_map[c] for c in "张三李四"])
        self.begin = torch.tensor([char_map[c] for c in "张李"])

    def __call__(self, input_ids, attention_mask):
        p_ent = torch.where(torch.isin(input_ids, self.ent), 0.9, 0.1)
        p_begin = torch.where(torch.isin(input_ids, self.begin), 0.9, 0.1)
        return torch.stack([p_ent, p_begin], dim=-1).numpy()


@pytest.fixture(scope="module")
def bio_model(tiny_encoder, tmp_path_factory):
    return save_tiny_model(tiny_encoder, tmp_path_factory.mktemp("bio") / "model.pkl", 0.5, "bio")


def test_a_bio_tagger_keeps_adjacent_entities_apart(bio_model, monkeypatch, capsys):
    tagger = Tagger.load(bio_model, "cpu")
    assert tagger.tags == "bio"
    tagger.backend = Stub(tagger.char_map)
    text = "张三李四在北京"  # two names with no O between them
    assert tagger.spans([text]) == [[(0, 2, "张三"), (2, 4, "李四")]]
    assert tagger.tag([text]) == [["B-Ent", "I-Ent", "B-Ent", "I-Ent", "O", "O", "O"]]
    monkeypatch.setattr(Tagger, "load", classmethod(lambda cls, *a, **k: tagger))
    assert main(["predict", "--model", str(bio_model), "--format", "jsonl", "--probs", text]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["spans"] == [[0, 2, "Ent"], [2, 4, "Ent"]] and len(row["p_begin"]) == len(text)
    assert main(["predict", "--model", str(bio_model), "--format", "tags", text]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1] for line in lines if line] == tagger.tag([text])[0]


def test_a_bio_model_exports_to_onnx_and_transformers(bio_model, tmp_path):
    checkpoint = read_checkpoint(bio_model)
    assert (checkpoint["tags"], checkpoint["labels"]) == ("bio", ["B-Ent", "I-Ent", "O"])
    torch_out = Tagger.load(bio_model, "cpu").outputs(TEXTS)
    onnx = Tagger.load(export(bio_model, tmp_path / "onnx"))
    assert onnx.tags == "bio"
    for a, b in zip(torch_out, onnx.outputs(TEXTS), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    folder = export_transformers(bio_model, tmp_path / "hf")  # checks its class probabilities
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "B-Ent", "1": "I-Ent", "2": "O"}
    assert "stay apart" in (folder / "README.md").read_text(encoding="utf-8")


def test_tags_of_names_every_tag():
    assert TAGS == ("B", "I", "O") and tag_ids(["B", "I", "O"]).tolist() == [TAG_B, TAG_I, TAG_O]


def test_the_paired_comparison_of_two_taggers_resamples_the_same_sentences(
    bio_model, tiny_encoder, tmp_path
):
    """benchmarks/paired_taggers.py: a tagger against itself differs by exactly 0; the
    Ent/O and B/I/O taggers are each scored like the evaluate stage scores them."""
    from enttag.data.prepare import write_prepared
    from enttag.data.readers import Sentence

    io_model = save_tiny_model(tiny_encoder, tmp_path / "io.pkl", None)
    sentences = [
        Sentence("张三李四在北京", tuple("BIBIOBI")),
        Sentence(LONG, tuple("O" * len(LONG))),
    ]
    write_prepared({"test": sentences}, tmp_path, {})
    script = ROOT / "benchmarks" / "paired_taggers.py"
    for other, zero in ((bio_model, True), (io_model, False)):
        cmd = [sys.executable, str(script), "--a", str(bio_model), "--b", str(other)]
        run(
            [
                *cmd,
                "--test",
                str(tmp_path / "test.jsonl"),
                "--bootstrap",
                "50",
                "--json",
                "out.json",
            ],
            tmp_path,
        )
        result = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
        assert result["sentences"] == 2
        if zero:
            assert result["a_minus_b_ent_f1"]["ent_f1_diff"] == 0.0
            assert result["a_minus_b_entity_f1"] == {
                "f1_diff": 0.0,
                "ci": [0.0, 0.0],
                "beats": "not distinguishable",
            }


def test_a_tagger_refuses_a_crf_of_the_other_scheme(bio_model, tiny_corpus):
    from enttag.baseline.crf import CrfBaseline
    from enttag.data.readers import read_corpus
    from enttag.errors import EnttagError

    train = read_corpus(tiny_corpus / "train.txt", "conll")
    io_crf = CrfBaseline(2, 0.1, 0.01, 5).fit(train).model
    tagger = Tagger.load(bio_model, "cpu")
    fusion = {"rule": "logodds", "weight": 0.5, "threshold": 0.5, "window": 2}
    with pytest.raises(
        EnttagError, match="^the encoder's tag scheme is 'bio' but its CRF's is 'io': run the fuse"
    ):
        Tagger(
            tagger.backend,
            char_map=tagger.char_map,
            specials=tagger.specials,
            max_length=16,
            stride=4,
            dev_threshold=None,
            tags="bio",
            fusion=fusion,
            crf_model=io_crf,
        )
