"""A stage that meets bad input exits 1 with one line naming the cause, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.process import subprocess_env

from enttag.errors import EnttagError
from enttag.stage import run

ROOT = Path(__file__).resolve().parents[1]


def test_run_turns_an_enttag_error_into_exit_1_and_one_line(capsys):
    def main() -> None:
        raise EnttagError("data/x.txt:3: bad tag")

    main.__module__ = "stages.prepare"
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "prepare: error: data/x.txt:3: bad tag\n"


def test_run_exits_0_when_main_returns(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(lambda: None)
    assert exit_info.value.code == 0


def test_a_real_stage_on_a_bad_corpus_prints_one_line(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["dir"] = str(tmp_path / "corpus")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "train.txt").write_text("张 B-PER\n三\n", encoding="utf-8")
    (tmp_path / "corpus" / "test.txt").write_text("好 O\n", encoding="utf-8")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "stages.prepare"],
        cwd=tmp_path,
        env=subprocess_env(stages=True),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"prepare: error: {tmp_path}/corpus/train.txt:2: "
    )
