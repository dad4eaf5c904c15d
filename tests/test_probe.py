"""The defects of issue 19's fault and input probe, one test (or more) per row, by class."""

from __future__ import annotations

import importlib.metadata
import json
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from support.models import save_tiny_model
from support.process import ROOT, subprocess_env
from support.shipped import raw_section

from enttag.cli import main
from enttag.data.prepare import split_corpus
from enttag.data.readers import Sentence
from enttag.errors import EnttagError, guarded
from enttag.params import SECTIONS, ParamsError, parse_section
from enttag.stage import run
from enttag.tagging.export import export
from enttag.tagging.tagger import Tagger


@pytest.fixture(scope="module")
def tiny_model(tiny_encoder, tmp_path_factory) -> Path:
    return save_tiny_model(tiny_encoder, tmp_path_factory.mktemp("probe") / "model.pkl", 0.5)


def ent(text: str) -> Sentence:
    return Sentence(text, ("Ent",) + ("O",) * (len(text) - 1))


def plain(text: str) -> Sentence:
    return Sentence(text, ("O",) * len(text))


# ---------------------------------------------------------------- rows 1, 2: splits without Ent


def test_row1_a_carved_dev_without_ent_is_refused_naming_the_params():
    train = [ent("甲乙")] + [plain(f"丙{i}") for i in range(40)]  # one entity sentence
    with pytest.raises(EnttagError) as e:
        split_corpus(
            train,
            None,
            [ent("丁戊")],
            dev_fraction=0.5,
            seed=0,
            max_train=None,
            max_dev=3,
            max_test=None,
        )
    message = str(e.value)
    assert "\n" not in message
    assert "dev split has no Ent" in message
    assert "prepare.dev_fraction" in message and "prepare.max_dev" in message


@pytest.mark.parametrize("split", ["train", "test"])
def test_row2_a_cap_that_leaves_a_split_without_ent_is_refused(split):
    many = [ent("甲乙")] + [plain(f"丙{i}") for i in range(60)]
    splits = {"train": many, "test": [ent("丁戊")]} | {split: many}
    with pytest.raises(EnttagError) as e:
        split_corpus(
            splits["train"],
            [ent("己庚")],
            splits["test"],
            dev_fraction=0.1,
            seed=0,
            max_train=2 if split == "train" else None,
            max_dev=None,
            max_test=2 if split == "test" else None,
        )
    assert f"the {split} split has no Ent characters" in str(e.value)
    assert f"prepare.max_{split}=2" in str(e.value)


# ---------------------------------------------------------------- row 6: float32 params


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ent_weight", 1e39, "train.ent_weight is 1e+39, which float32 cannot hold (inf)"),
        ("o_weight", -1e39, "train.o_weight is -1e+39, which float32 cannot hold (-inf)"),
        ("encoder_lr", 1e-50, "train.encoder_lr must be > 0, got 1e-50 (0.0 in float32)"),
    ],
)
def test_row6_numbers_are_checked_as_float32(key, value, message):
    with pytest.raises(ParamsError) as e:
        parse_section("train", raw_section("train") | {key: value}, SECTIONS["train"])
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_row6_float32_limits_themselves_pass():
    cfg = parse_section("train", raw_section("train") | {"ent_weight": 3e38}, SECTIONS["train"])
    assert cfg.ent_weight == 3e38


# ---------------------------------------------------------------- row 11: journal outside DVC


def test_row11_journal_outside_a_dvc_repository_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", subprocess_env()["PATH"])  # the venv's dvc
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["journal"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not inside of a DVC repository" in err
    assert not (tmp_path / "EXPERIMENTS.md").exists()


# ---------------------------------------------------------------- rows 5, 8: failed writes


def limited(limit: int):
    """A preexec_fn: this process's files may grow to ``limit`` bytes (EFBIG beyond)."""

    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


def run_limited(cmd: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=subprocess_env(stages=True),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limited(limit),
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def hidden_temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


SAVE_MODEL_FILE = """
import torch
from enttag.atomic import write_with
from enttag.model.network import save_bytes
from enttag.stage import run

def main():
    write_with("models/model.pkl", lambda tmp: save_bytes({"w": torch.zeros(100_000)}, tmp))

run(main, "train")
"""


def test_row5_a_failed_torch_save_is_one_line_naming_the_file(tmp_path):
    """torch.save's RuntimeError (inline_container) under a file-size limit, as train meets it."""
    line = one_line(run_limited([sys.executable, "-c", SAVE_MODEL_FILE], tmp_path, 50_000))
    assert line.startswith("train: error: models/model.pkl: cannot write: torch.save failed")
    assert not (tmp_path / "models/model.pkl").exists()
    assert hidden_temps(tmp_path) == []


def test_row8_prepare_that_cannot_write_its_splits_is_one_line(tmp_path, tiny_corpus):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["dir"] = str(tiny_corpus)
    params["prepare"]["max_dev"] = None
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    result = run_limited([sys.executable, "-m", "stages.prepare"], tmp_path, 4096)
    line = one_line(result)
    assert line == "prepare: error: data/prepared/train.jsonl: cannot write: File too large"
    assert hidden_temps(tmp_path) == []


def test_row8_export_that_cannot_write_is_one_line(tmp_path, tiny_model):
    out = tmp_path / "exports" / "onnx"
    cmd = [sys.executable, "-m", "enttag.cli", "export", "--model", str(tiny_model)]
    line = one_line(run_limited([*cmd, "--out", str(out)], tmp_path, 20_000))
    assert line == f"enttag export: error: {out}: cannot write: File too large"
    assert not out.exists() and hidden_temps(tmp_path) == []


def test_row8_an_oserror_naming_a_file_is_one_line_in_any_stage_or_command(capsys):
    def main() -> None:
        raise PermissionError(13, "Permission denied", "models/onnx")

    assert guarded("enttag export", main) == 1
    assert capsys.readouterr().err == "enttag export: error: models/onnx: Permission denied\n"


# ---------------------------------------------------------------- row 9: a killed export


KILLED_IN_FOLDER = """
import os, signal, sys
from enttag.atomic import atomic_dir

with atomic_dir(sys.argv[1]) as tmp:
    (tmp / "model.onnx").write_bytes(b"half a graph")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_row9_the_next_export_removes_the_temp_folder_of_a_killed_one(tmp_path, tiny_model):
    out = tmp_path / "onnx"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_FOLDER, str(out)], env=subprocess_env()
    )
    assert killed.returncode == -signal.SIGKILL
    assert len(hidden_temps(tmp_path)) == 1  # what the killed run left
    export(tiny_model, out)
    assert hidden_temps(tmp_path) == []
    assert (out / "model.onnx").is_file()


# ---------------------------------------------------------------- row 10: stages run by path


def test_row10_no_stage_script_shadows_a_module_it_may_import():
    """``python stages/x.py`` puts stages/ first on sys.path: no name there may be taken."""
    taken = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    shadowing = sorted(p.name for p in (ROOT / "stages").glob("*.py") if p.stem in taken)
    assert shadowing == []


def test_row10_a_stage_run_by_path_works(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages/train.py")],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one_line(result) == "train: error: params.yaml: file not found"


# ---------------------------------------------------------------- row 4: characters at predict


def test_row4_nfkc_forms_are_read_as_the_corpus_mapped_them(tiny_model):
    tagger = Tagger.load(tiny_model, "cpu")
    assert "１" not in tagger.char_map and "1" in tagger.char_map
    assert "," not in tagger.char_map and "，" in tagger.char_map  # NFKC("，") == ","
    full, half = tagger.probs(["张三１２３，王五"]), tagger.probs(["张三123，王五"])
    assert np.array_equal(full[0], half[0])
    ascii_comma, wide_comma = tagger.probs(["张三,王五"]), tagger.probs(["张三，王五"])
    assert np.array_equal(ascii_comma[0], wide_comma[0])
    assert tagger.lookup.unknown == {}


def test_row4_predict_counts_the_characters_it_could_not_map(tiny_model, capsys):
    assert main(["predict", "--model", str(tiny_model), "張三在臺灣", "张三１"]) == 0
    captured = capsys.readouterr()
    assert "張三在臺灣" in captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("enttag predict: 3 of 8 characters (3 distinct: 張 臺 灣)")


# ---------------------------------------------------------------- row 7: tagger.json vs graph


@pytest.fixture(scope="module")
def exported(tiny_model) -> Path:
    return export(tiny_model, tiny_model.parent / "onnx")


def swapped_ids(meta: dict) -> dict:
    """Another model's map over the same vocabulary: two characters' ids exchanged."""
    ids = dict(meta["char_to_id"])
    ids["张"], ids["三"] = ids["三"], ids["张"]
    return {"char_to_id": ids}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (swapped_ids, "char_to_id"),
        (lambda m: {"char_to_id": {**m["char_to_id"], "张": 10**6}}, "char_to_id"),
        (lambda m: {"specials": {**m["specials"], "unk": -1}}, "specials"),
        (lambda m: {"labels": ["O", "Ent"]}, "labels"),
        (lambda m: {"max_length": 600}, "max_length"),
        (lambda m: {"max_length": 3}, "max_length"),
        (lambda m: {"max_length": 0}, "max_length"),
        (lambda m: {"max_length": -5}, "max_length"),
        (lambda m: {"max_length": "128"}, "max_length"),
        (lambda m: {"stride": 20}, "stride"),
        (lambda m: {"threshold": 2}, "threshold"),
    ],
)
def test_row7_every_field_of_tagger_json_is_checked_against_its_graph(
    exported, tmp_path, capsys, change, field
):
    folder = tmp_path / "onnx"
    shutil.copytree(exported, folder)
    meta = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
    (folder / "tagger.json").write_text(json.dumps(meta | change(meta)), encoding="utf-8")
    assert main(["predict", "--model", str(folder), "张三在北京大学工作。"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"enttag predict: error: {folder}/tagger.json: {field}")
    assert captured.err.count("\n") == 1


def test_row7_an_unchanged_export_still_loads(exported):
    assert Tagger.load(exported).spans(["张三在北京大学工作。"])[0] is not None


# ---------------------------------------------------------------- row 3: two runs at once


HOLD_THE_WORKSPACE = """
import sys, time
from enttag.stage import run

def main():
    print("training", flush=True)
    time.sleep(60)

run(main, "train")
"""


def test_row3_a_second_run_in_the_workspace_is_refused_at_once(tmp_path, monkeypatch, capsys):
    (tmp_path / ".dvc").mkdir()
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WORKSPACE],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
    )
    try:
        assert first.stdout.readline() == b"training\n"  # holds the lock now
        monkeypatch.chdir(tmp_path)
        ran = []
        with pytest.raises(SystemExit) as exit_info:
            run(lambda: ran.append(1), "train")
        assert exit_info.value.code == 1 and ran == []
        err = capsys.readouterr().err
        assert err.startswith(
            f"train: error: another stage runs in this workspace (train, pid {first.pid}"
        )
        assert "`dvc exp run --queue ...`" in err and err.count("\n") == 1
    finally:
        first.kill()
        first.wait()
    with pytest.raises(SystemExit) as exit_info:  # the lock died with its holder
        run(lambda: ran.append(1), "train")
    assert exit_info.value.code == 0 and ran == [1]
