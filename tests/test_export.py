"""`enttag export` and the backends: ONNX (fp32, int8) and torch int8 tag like torch fp32."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from support.models import LONG, TEXT, save_tiny_model

from enttag.cli import main
from enttag.errors import EnttagError
from enttag.tagging.export import export
from enttag.tagging.tagger import Tagger

TEXTS = [TEXT, LONG, "", "ΩΩ", "李四去了北京。", LONG[5:40]]
FP32_TOLERANCE = 1e-4  # max |ΔP(Ent)| of ONNX fp32 against torch fp32 (float noise)
INT8_TOLERANCE = 0.03  # max |ΔP(Ent)| of int8 vs torch fp32 on the tiny model (0.006-0.009)


@pytest.fixture(scope="module")
def model_file(tiny_encoder, tmp_path_factory) -> Path:
    return save_tiny_model(tiny_encoder, tmp_path_factory.mktemp("export") / "model.pkl", 0.25)


@pytest.fixture(scope="module")
def exported(model_file) -> Path:
    return export(model_file, model_file.parent / "onnx", int8=True)


@pytest.fixture(scope="module")
def reference(model_file) -> list[np.ndarray]:
    return Tagger.load(model_file, "cpu", backend="torch").probs(TEXTS)


def max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    assert [len(x) for x in a] == [len(x) for x in b]
    return float(np.abs(np.concatenate(a) - np.concatenate(b)).max())


def test_export_folder_holds_a_dynamic_graph_and_the_settings(exported, model_file):
    assert sorted(p.name for p in exported.iterdir()) == [
        "model.int8.onnx",
        "model.onnx",
        "tagger.json",
    ]
    graph = onnx.load(exported / "model.onnx")
    onnx.checker.check_model(graph)
    for value in graph.graph.input:
        dims = [d.dim_param for d in value.type.tensor_type.shape.dim]
        assert dims == ["batch", "sequence"], value.name
    (probs,) = graph.graph.output  # P(Ent) and P(B | Ent) of every position
    shape = [d.dim_param or d.dim_value for d in probs.type.tensor_type.shape.dim]
    assert (probs.name, shape) == ("probs", ["batch", "sequence", 2])
    meta = json.loads((exported / "tagger.json").read_text(encoding="utf-8"))
    tagger = Tagger.load(model_file, "cpu")
    assert meta["char_to_id"] == tagger.char_map
    assert (meta["max_length"], meta["stride"], meta["threshold"]) == (16, 4, 0.25)
    assert Tagger.load(exported).dev_threshold == 0.25


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_onnx_fp32_tags_like_torch(exported, reference, batch_size):
    onnx_tagger = Tagger.load(exported, backend="onnx")
    probs = onnx_tagger.probs(TEXTS, batch_size)
    assert max_diff(probs, reference) < FP32_TOLERANCE
    assert onnx_tagger.tag(TEXTS, 0.5) == [
        ["Ent" if p >= 0.5 else "O" for p in ps] for ps in reference
    ]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_int8_stays_within_tolerance(exported, model_file, reference, backend):
    tagger = Tagger.load(exported if backend == "onnx" else model_file, "cpu", backend, int8=True)
    diff = max_diff(tagger.probs(TEXTS), reference)
    assert 0 < diff < INT8_TOLERANCE  # int8 really ran (not the fp32 graph), and stayed close


def test_round_trip_through_the_cli(capsys, model_file, reference, tmp_path):
    out = tmp_path / "cli-onnx"
    assert main(["export", "--model", str(model_file), "--out", str(out)]) == 0
    assert "model.onnx" in capsys.readouterr().out and not (out / "model.int8.onnx").exists()
    argv = ["predict", "--model", str(out), "--format", "jsonl", "--probs", *TEXTS[:2]]
    assert main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == TEXTS[:2]
    assert max_diff([np.array(r["probs"]) for r in rows], reference[:2]) < FP32_TOLERANCE
    code = main(["predict", "--model", str(out), "--int8", TEXT])
    err = capsys.readouterr().err
    assert code == 1 and "model.int8.onnx: not found (export with --int8)" in err


def test_clear_errors(capsys, exported, model_file, tmp_path):
    with pytest.raises(EnttagError, match="torch backend reads a .pkl"):
        Tagger.load(exported, backend="torch")
    with pytest.raises(EnttagError, match="not an export folder"):
        Tagger.load(model_file, backend="onnx")
    with pytest.raises(EnttagError, match="runs on the CPU"):
        Tagger.load(exported, "cuda")
    with pytest.raises(EnttagError, match="backend must be one of"):
        Tagger.load(exported, backend="tensorrt")
    code = main(["export", "--model", str(tmp_path / "none.pkl"), "--out", str(tmp_path / "o")])
    assert code == 1 and "model file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "tagger.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(EnttagError, match="not an enttag export"):
        Tagger.load(tmp_path / "fake")
