import importlib.util
import io
import json
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from support.models import LONG, TEXT, save_tiny_model
from support.process import subprocess_env

from enttag.cli import main
from enttag.errors import EnttagError
from enttag.tagging import predict
from enttag.tagging.tagger import Tagger

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_file(tiny_encoder, tmp_path_factory) -> Path:
    return save_tiny_model(tiny_encoder, tmp_path_factory.mktemp("predict") / "model.pkl", 0.5)


@pytest.fixture(scope="module")
def tagger(model_file) -> Tagger:
    return Tagger.load(model_file, device="cpu")


def predict_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["predict", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_api_tags_every_character_of_any_text(tagger):
    texts = [TEXT, "", LONG, "ΩΩ"]
    probs = tagger.probs(texts)
    assert [len(p) for p in probs] == [len(t) for t in texts]
    tags = tagger.tag(texts)
    assert tags == [["Ent" if x >= 0.5 else "O" for x in p] for p in probs]
    assert probs[3][0] == pytest.approx(tagger.probs(["€Ω"])[0][0])  # both are the unk token
    assert tagger.probs([]) == [] and tagger.tag([""]) == [[]] and tagger.spans([""]) == [[]]
    with pytest.raises(TypeError, match="not one string"):
        tagger.tag(TEXT)


def test_api_spans_are_maximal_ent_runs(tagger):
    texts = [TEXT, LONG]
    for text, tags, spans in zip(texts, tagger.tag(texts), tagger.spans(texts), strict=True):
        rebuilt = ["O"] * len(text)
        for start, end, entity in spans:
            assert entity == text[start:end] and start < end
            rebuilt[start:end] = ["Ent"] * (end - start)
            assert start == 0 or tags[start - 1] == "O"
            assert end == len(text) or tags[end] == "O"
        assert rebuilt == tags
    assert tagger.spans([TEXT], threshold=0.0) == [[(0, len(TEXT), TEXT)]]
    assert tagger.tag([TEXT], threshold=1.01) == [["O"] * len(TEXT)]


def test_api_dev_threshold(tagger, tiny_encoder, tmp_path):
    probs = tagger.probs([TEXT])[0]
    cut = float(np.median(probs))  # splits this text's characters, unlike the default 0.5
    tuned = Tagger.load(save_tiny_model(tiny_encoder, tmp_path / "tuned.pkl", cut), "cpu")
    expected = [["Ent" if p >= cut else "O" for p in probs]]
    assert tuned.tag([TEXT], use_dev_threshold=True) == expected
    assert expected != tagger.tag([TEXT], 0.5) == tuned.tag([TEXT])  # 0.5 stays the default
    eager = Tagger.load(save_tiny_model(tiny_encoder, tmp_path / "t0.pkl", 0.0), "cpu")
    assert eager.tag([TEXT], use_dev_threshold=True) == [["Ent"] * len(TEXT)]
    untuned = Tagger.load(save_tiny_model(tiny_encoder, tmp_path / "none.pkl", None), "cpu")
    with pytest.raises(EnttagError, match="no dev-tuned threshold"):
        untuned.tag([TEXT], use_dev_threshold=True)


def test_spans_format_is_the_text_then_its_spans(capsys, model_file, tagger):
    code, out, _ = predict_cli(capsys, "--model", str(model_file), TEXT, LONG)
    assert code == 0
    blocks = out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [TEXT, LONG]
    for block, spans in zip(blocks, tagger.spans([TEXT, LONG]), strict=True):
        assert block.splitlines()[1:] == [f"  [{s}, {e})  {ent}" for s, e, ent in spans]


def test_tags_format_gives_every_character_one_tag(capsys, model_file, tagger):
    code, out, _ = predict_cli(capsys, "--model", str(model_file), "--format", "tags", LONG, TEXT)
    assert code == 0
    blocks = [b.splitlines() for b in out.rstrip("\n").split("\n\n")]
    for lines, text, tags in zip(blocks, [LONG, TEXT], tagger.tag([LONG, TEXT]), strict=True):
        assert lines == [f"{c}\t{t}" for c, t in zip(text, tags, strict=True)]


def test_jsonl_from_a_file_with_an_empty_line_and_probs(capsys, model_file, tagger, tmp_path):
    source = tmp_path / "texts.txt"
    source.write_bytes(f"\ufeff{TEXT}\r\n\n{LONG}\n".encode())
    code, out, _ = predict_cli(
        capsys,
        "--model",
        str(model_file),
        "--input",
        str(source),
        "--format",
        "jsonl",
        "--probs",
        "--batch-size",
        "2",
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == [TEXT, "", LONG]
    assert rows[1] == {"text": "", "spans": [], "probs": []}
    for row, spans, probs in zip(
        rows, tagger.spans([TEXT, "", LONG]), tagger.probs([TEXT, "", LONG]), strict=True
    ):
        assert row["spans"] == [[s, e, "Ent"] for s, e, _ in spans]
        np.testing.assert_allclose(row["probs"], probs, atol=1e-6)


def test_standard_input_in_process_tagged_in_chunks(capsys, monkeypatch, model_file):
    texts = [TEXT, LONG, "", "李四", TEXT[::-1]]
    monkeypatch.setattr(predict, "CHUNK", 2)
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(t + "\n" for t in texts)))
    code, out, _ = predict_cli(capsys, "--model", str(model_file), "--format", "jsonl")
    assert code == 0
    assert [json.loads(line)["text"] for line in out.splitlines()] == texts
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert predict_cli(capsys, "--model", str(model_file)) == (0, "", "")


def test_standard_input_as_a_real_command(model_file, tagger):
    env = subprocess_env(PYTHONIOENCODING="ascii")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "enttag.cli",
            "predict",
            "--model",
            str(model_file),
            "--format",
            "jsonl",
        ],
        input=f"{TEXT}\r\n\n".encode(),
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert rows == [
        {"text": TEXT, "spans": [[s, e, "Ent"] for s, e, _ in tagger.spans([TEXT])[0]]},
        {"text": "", "spans": []},
    ]


def test_threshold_dev_applies_the_models_threshold(capsys, tiny_encoder, tmp_path):
    model = save_tiny_model(tiny_encoder, tmp_path / "t0.pkl", 0.0)
    code, out, _ = predict_cli(capsys, "--model", str(model), "--threshold", "dev", TEXT)
    assert (code, out) == (0, f"{TEXT}\n  [0, {len(TEXT)})  {TEXT}\n")
    untuned = save_tiny_model(tiny_encoder, tmp_path / "none.pkl", None)
    code, _, err = predict_cli(capsys, "--model", str(untuned), "--threshold", "dev", TEXT)
    assert code == 1 and "no dev-tuned threshold" in err
    with pytest.raises(SystemExit):
        main(["predict", "--model", str(model), "--threshold", "high", TEXT])


class Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_a_hostile_pickle_is_refused(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"format": "enttag-model/2", "payload": Boom()}, protocol=2))
    code, out, err = predict_cli(capsys, "--model", str(evil), TEXT)
    assert (code, out) == (1, "") and "not an enttag model" in err
    assert not (tmp_path / "PWNED").exists()


def test_clear_errors(capsys, model_file, tmp_path):
    code, _, err = predict_cli(capsys, "--model", str(tmp_path / "missing.pkl"), TEXT)
    assert code == 1 and "model file not found" in err
    code, _, err = predict_cli(
        capsys, "--model", str(model_file), "--input", str(tmp_path / "missing.txt")
    )
    assert code == 1 and "missing.txt: cannot read file" in err
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    code, _, err = predict_cli(
        capsys, "--model", str(model_file), "--input", str(tmp_path / "latin1.txt")
    )
    assert code == 1 and "latin1.txt:1: not UTF-8" in err
    code, _, err = predict_cli(capsys, "--model", str(model_file), "--probs", TEXT)
    assert code == 1 and "--format jsonl" in err


def test_benchmark_runs_on_a_tiny_model(capsys, model_file, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "predict_speed", ROOT / "benchmarks" / "predict_speed.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = tmp_path / "test.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "labels": ["Ent"] * 2 + ["O"] * (len(t) - 2)}) + "\n"
            for t in [TEXT, LONG, "李四"]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "speed.json"
    assert (
        bench.main(
            [
                "--model",
                str(model_file),
                "--data",
                str(data),
                "--n",
                "2",
                "--repeats",
                "1",
                "--latency-runs",
                "2",
                "--bootstrap",
                "20",
                "--no-memory",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["texts"] == 2 and figures["characters"] == len(TEXT) + len(LONG)
    paths = figures["paths"]
    assert set(paths) == {"naive", "torch_fp32", "torch_int8", "onnx_fp32", "onnx_int8"}
    for f in paths.values():
        assert f["chars_per_s"] > 0 and f["latency_ms"] > 0
        assert f["size_mb"] > 0
    assert paths["naive"]["max_abs_prob_diff"] < 1e-4
    assert paths["onnx_fp32"]["max_abs_prob_diff"] < 1e-4
    assert paths["onnx_int8"]["size_mb"] < paths["onnx_fp32"]["size_mb"]
    lo, hi = paths["onnx_int8"]["ent_f1_diff_ci"]
    assert lo <= paths["onnx_int8"]["ent_f1_diff"] <= hi
    assert "ONNX int8 Tagger" in capsys.readouterr().out
    probe = ["--probe", "onnx_int8", "--model", str(model_file), "--data", str(data)]
    exported = bench.export(model_file, tmp_path / "o", int8=True)
    assert bench.main([*probe, "--onnx", str(exported)]) == 0
    assert float(capsys.readouterr().out) > 0  # peak RSS in MB, as each fresh process prints it


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"\n", [""]),
        (b"a", ["a"]),
        (b"a\n", ["a"]),
        (b"a\r\n\n\nbcdefgh\r\nij", ["a", "", "", "bcdefgh", "ij"]),
        ("\ufeff张三\n李四".encode(), ["张三", "李四"]),
    ],
)
def test_read_chunks_splits_lines_whatever_the_read_size(monkeypatch, data, lines):
    for read_bytes in (1, 3, 1 << 16):
        monkeypatch.setattr(predict, "READ_BYTES", read_bytes)
        chunks = list(predict.read_chunks(io.BufferedReader(io.BytesIO(data)), "x"))
        assert [line for chunk in chunks for line in chunk] == lines
        assert all(0 < len(chunk) <= predict.CHUNK for chunk in chunks)


def test_streaming_keeps_every_line_in_order(capsys, monkeypatch, model_file, tagger, tmp_path):
    monkeypatch.setattr(predict, "READ_BYTES", 7)  # lines straddle reads
    monkeypatch.setattr(predict, "CHUNK", 2)
    texts = [TEXT, "", "", LONG * 30, "李四", "", TEXT[::-1]]  # LONG * 30: many windows
    source = tmp_path / "big.txt"
    source.write_bytes(("\r\n".join(texts[:3]) + "\n" + "\n".join(texts[3:])).encode())
    target = tmp_path / "out" / "tagged.jsonl"
    argv = ["--model", str(model_file), "--input", str(source), "--output", str(target)]
    code, out, _ = predict_cli(capsys, *argv, "--format", "jsonl", "--probs")
    assert (code, out) == (0, "")
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == texts
    for row, probs in zip(rows, tagger.probs(texts), strict=True):
        np.testing.assert_allclose(row["probs"], probs, atol=1e-6)


def test_invalid_utf8_names_its_line_and_keeps_the_old_output(capsys, model_file, tmp_path):
    source = tmp_path / "bad.txt"
    source.write_bytes(f"{TEXT}\n\n".encode() + b"ok \xff\xfe\n" + f"{TEXT}\n".encode())
    target = tmp_path / "tagged.txt"
    target.write_text("old\n", encoding="utf-8")
    argv = ["--model", str(model_file), "--input", str(source), "--output", str(target)]
    code, out, err = predict_cli(capsys, *argv)
    assert (code, out) == (1, "")
    assert "bad.txt:3: not UTF-8: invalid start byte at byte 4" in err
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "tagged.txt"]


def test_a_pipe_gets_answers_before_it_is_closed(model_file, tagger):
    argv = [sys.executable, "-m", "enttag.cli", "predict", "--model", str(model_file)]
    proc = subprocess.Popen(
        [*argv, "--format", "jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    with ThreadPoolExecutor(1) as pool:
        try:
            proc.stdin.write(f"{TEXT}\n".encode())
            proc.stdin.flush()
            first = pool.submit(proc.stdout.readline).result(timeout=120)  # stdin still open
            assert json.loads(first)["text"] == TEXT
            rest, err = proc.communicate(f"\n{LONG}\n李四".encode(), timeout=120)
        finally:
            proc.kill()
    assert proc.returncode == 0, err.decode(errors="replace")
    rows = [json.loads(line) for line in rest.decode().splitlines()]
    assert [r["text"] for r in rows] == ["", LONG, "李四"]
    assert rows[1]["spans"] == [[s, e, "Ent"] for s, e, _ in tagger.spans([LONG])[0]]
    assert b"tagging" not in err  # no progress bar when stderr is not a terminal
