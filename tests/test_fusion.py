"""The shipped tagger: the encoder's P(Ent) mixed with the CRF's, chosen on dev only.

Unit tests of the rules and the choice; then, on the reproduced tiny repo (whose
default is ``fuse.kind: crf``): the P(Ent) that ``enttag predict``, ``Tagger.load`` and
an ONNX export give equals the fused P(Ent) the evaluate stage scored; the choice is
blind to test labels; the report holds the three systems and their paired lifts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from support.process import run
from support.repo import copy_repo

from enttag.cli import main
from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import TokenizedCorpus
from enttag.fusion import Fusion, choose, mix, weight_grid
from enttag.labels import TAG_B, TAG_O
from enttag.model.inference import predict
from enttag.model.network import model_from_checkpoint, read_checkpoint
from enttag.report.evaluate import Outputs, shipped_outputs
from enttag.tagging.tagger import Tagger


def test_rules_by_hand_and_at_the_ends_of_the_grid():
    enc, crf = np.array([0.9, 0.2, 0.5]), np.array([0.5, 0.6, 0.1])
    assert mix("linear", 0.25, enc, crf) == pytest.approx(0.25 * enc + 0.75 * crf, abs=1e-7)
    z = 0.5 * np.log(enc / (1 - enc)) + 0.5 * np.log(crf / (1 - crf))
    assert mix("logodds", 0.5, enc, crf) == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-7)
    for rule in ("linear", "logodds"):
        assert mix(rule, 1.0, enc, crf) == pytest.approx(enc, abs=1e-6)
        assert mix(rule, 0.0, enc, crf) == pytest.approx(crf, abs=1e-6)
        assert mix(rule, 0.3, enc, crf).dtype == np.float32
    assert weight_grid(0.25) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_the_choice_takes_what_each_system_knows():
    """The encoder knows the first half of the characters, the CRF the second: only a
    mix gets both right, so neither end of the grid is chosen."""
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 400)  # 0 = Ent
    is_ent = gold == 0
    half = np.arange(400) < 200
    enc = np.where(half, np.where(is_ent, 0.95, 0.05), 0.5).astype(np.float32)
    crf = np.where(half, 0.5, np.where(is_ent, 0.9, 0.1)).astype(np.float32)
    fusion, rows = choose(gold, enc, crf, ("linear", "logodds"), weight_grid(0.1))
    assert len(rows) == 22 and 0 < fusion.weight < 1
    assert max(r["dev_ent_f1"] for r in rows) == pytest.approx(1.0)
    assert (fusion.mix(enc, crf) >= fusion.threshold).tolist() == is_ent.tolist()


def test_a_damaged_fusion_is_refused():
    with pytest.raises(Exception, match="fusion"):
        Fusion.from_dict({"rule": "max", "weight": 0.5, "threshold": 0.5})
    with pytest.raises(Exception, match="fusion"):
        Fusion.from_dict({"rule": "linear", "weight": 1.5, "threshold": 0.5})


@pytest.fixture(scope="module")
def fused_repo(reproduced_template, tmp_path_factory):
    """The reproduced tiny repo with ``fuse.kind: crf`` (the default of params.yaml)."""
    repo = copy_repo(reproduced_template, tmp_path_factory.mktemp("fused") / "repo")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["fuse"]["kind"] = "crf"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro"], repo).stdout
    assert "Running stage 'train'" not in out  # fusion comes after training
    return repo


def scored_p_ent(repo) -> list[np.ndarray]:
    """The test split's shipped P(Ent) as the evaluate stage computes it."""
    shipped = read_checkpoint(repo / "models/tagger.pkl")
    model = model_from_checkpoint(read_checkpoint(repo / "models/model.pkl"))
    corpus = TokenizedCorpus.load(repo / "data/tokenized", ("test",))
    enc = predict(
        model,
        corpus.splits["test"],
        batch_size=64,
        pad_id=corpus.specials.pad,
        device=torch.device("cpu"),
    )
    baseline = np.load(repo / "data/baseline/p_ent.npz")
    cuts = np.cumsum([len(p) for p in enc.p_ent])[:-1]
    crf = Outputs(np.split(baseline["test"], cuts), np.split(baseline["test_begin"], cuts))
    fusion = Fusion.from_dict(shipped["fusion"])
    return shipped_outputs(fusion, Outputs(enc.p_ent, enc.p_begin), crf).p_ent


@pytest.mark.slow
def test_predict_gives_the_fused_p_ent_that_evaluate_scored(fused_repo, tmp_path, capsys):
    repo = fused_repo
    shipped = read_checkpoint(repo / "models/tagger.pkl")
    assert shipped["fusion"] is not None and shipped["crf_model"]
    texts = [s.text for s in read_prepared(repo / "data/prepared/test.jsonl")]
    scored = scored_p_ent(repo)
    fusion = json.loads((repo / "metrics/fusion.json").read_text())["chosen"]
    report = json.loads((repo / "metrics/test_report.json").read_text())
    assert report["cut"] == fusion["threshold"] and report["fusion"]["rule"] == fusion["rule"]

    torch.set_num_threads(1)
    api = Tagger.load(repo / "models/tagger.pkl", device="cpu").probs(texts)
    assert max(np.abs(a - b).max() for a, b in zip(api, scored, strict=True)) <= 1e-6

    inputs = tmp_path / "test.txt"
    inputs.write_text("\n".join(texts) + "\n", encoding="utf-8")
    model = str(repo / "models/tagger.pkl")
    argv = ["predict", "--model", model, "--input", str(inputs), "--format", "jsonl", "--probs"]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cli = [np.array(row["probs"], dtype=np.float32) for row in lines]
    assert max(np.abs(a - b).max() for a, b in zip(cli, scored, strict=True)) <= 1e-6
    # the default cut is the fusion's: the spans printed are those of P(Ent) >= its cut
    first = next(i for i, p in enumerate(scored) if (p >= fusion["threshold"]).any())
    assert lines[first]["spans"], "the fused cut found no entity"

    exported = tmp_path / "onnx"
    assert main(["export", "--model", model, "--out", str(exported)]) == 0
    assert (exported / "crf.crfsuite").read_bytes() == shipped["crf_model"]
    onnx = Tagger.load(exported).probs(texts)
    assert max(np.abs(a - b).max() for a, b in zip(onnx, scored, strict=True)) <= 1e-4


@pytest.mark.slow
def test_test_labels_cannot_change_the_fusion(fused_repo, tmp_path):
    """The fuse stage reads dev only: flipping every test label (and the CRF's test
    P(Ent)) changes nothing it writes."""
    tiny_repo = copy_repo(fused_repo, tmp_path / "repo")
    written = ("models/tagger.pkl", "metrics/fusion.json")
    before = {p: (tiny_repo / p).read_bytes() for p in written}
    test_pt = tiny_repo / "data/tokenized/test.pt"
    split = torch.load(test_pt, weights_only=True)
    tags = split["tags"]
    flipped = torch.where(tags == TAG_O, TAG_B, TAG_O).to(tags.dtype)
    split["tags"] = torch.where(tags >= 0, flipped, tags)  # Ent <-> O, IGNORE kept
    test_pt.unlink()  # a fresh file: never write through a link into the DVC cache
    torch.save(split, test_pt)
    npz_path = tiny_repo / "data/baseline/p_ent.npz"
    npz = dict(np.load(npz_path))
    npz["test"] = 1 - npz["test"]
    npz_path.unlink()
    np.savez(npz_path, **npz)
    run(["python", "-m", "stages.fuse"], tiny_repo)
    assert {p: (tiny_repo / p).read_bytes() for p in written} == before


@pytest.mark.slow
def test_report_and_metrics_hold_three_systems(fused_repo):
    repo = fused_repo
    lean = json.loads((repo / "metrics/test.json").read_text())
    for key in (
        "encoder_ent_f1",
        "encoder_lift_lo",
        "encoder_beats_baseline",
        "fused_minus_encoder",
        "encoder_entity_f1",
        "entity_beats_baseline",
    ):
        assert key in lean
    assert lean["encoder_beats_baseline"] in ("yes", "no", "not distinguishable")
    text = (repo / "metrics/test_report.txt").read_text()
    for line in (
        "shipped (encoder + CRF",
        "encoder alone",
        "linear-chain CRF",
        "shipped - encoder",
        "encoder alone - baseline: ",
    ):
        assert line in text


@pytest.mark.slow
def test_the_fusion_benchmark_with_stacking_runs_on_the_tiny_repo(fused_repo):
    script = Path(__file__).resolve().parents[1] / "benchmarks/fusion.py"
    argv = [
        "python",
        str(script),
        "--repo",
        ".",
        "--n",
        "20",
        "--repeats",
        "1",
        "--bootstrap",
        "20",
        "--stacking",
        "--folds",
        "2",
        "--jobs",
        "1",
    ]
    out = run(argv, fused_repo).stdout
    for system in ("encoder alone", "CRF alone", "linear fusion", "logodds fusion", "stacking"):
        assert f"| {system}" in out
    assert "out-of-fold CRF fits" in out and "stacking (cut" in out
    assert "- log-odds fusion: dev" in out and "ratio" in out


@pytest.mark.slow
def test_the_seed_spread_benchmark_pools_runs(fused_repo):
    script = Path(__file__).resolve().parents[1] / "benchmarks/seed_spread.py"
    argv = ["python", str(script), "--repo", ".", "--runs", ".", ".", "--bootstrap", "20"]
    out = run(argv, fused_repo).stdout
    assert "n=2" in out and "seed-pooled lift over the CRF" in out
