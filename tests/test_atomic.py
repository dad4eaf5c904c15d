"""enttag.atomic under a crash mid-write: the old output stays whole, no temp file remains."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.process import subprocess_env

from enttag import atomic
from enttag.atomic import atomic_dir, write_json, write_text, write_with
from enttag.errors import WriteError

OLD = "old content, complete\n"


class Crash(Exception):
    pass


def half_then_crash(tmp: Path) -> None:
    tmp.write_text("new content, half wri", encoding="utf-8")
    raise Crash


def test_a_writer_that_raises_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text(OLD, encoding="utf-8")
    with pytest.raises(Crash):
        write_with(target, half_then_crash)
    assert target.read_text(encoding="utf-8") == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failing_rename_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text(OLD, encoding="utf-8")

    def replace_fails(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", replace_fails)
    with pytest.raises(WriteError, match=r"metrics\.json: cannot write: No space left"):
        write_json(target, {"new": 1})
    assert target.read_text(encoding="utf-8") == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_new_file_is_not_created_by_a_crashed_write(tmp_path):
    with pytest.raises(Crash):
        write_with(tmp_path / "sub" / "new.txt", half_then_crash)
    assert list((tmp_path / "sub").iterdir()) == []


def test_a_crashed_folder_write_leaves_the_old_folder_and_no_temp(tmp_path):
    target = tmp_path / "tokenized"
    target.mkdir()
    (target / "vocab.json").write_text(OLD, encoding="utf-8")
    with pytest.raises(Crash), atomic_dir(target) as tmp:
        (tmp / "vocab.json").write_text("new", encoding="utf-8")
        (tmp / "train.pt").write_bytes(b"half")
        raise Crash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenized"]
    assert sorted(p.name for p in target.iterdir()) == ["vocab.json"]
    assert (target / "vocab.json").read_text(encoding="utf-8") == OLD


KILLED_MID_WRITE = """
import os, signal, sys
from enttag.atomic import write_with

def writer(tmp):
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("new content, half wri")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

write_with(sys.argv[1], writer)
"""


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    """SIGKILL runs no cleanup: the old file is whole, and a later write still succeeds."""
    target = tmp_path / "report.txt"
    target.write_text(OLD, encoding="utf-8")
    env = subprocess_env()
    result = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(target)], env=env)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text(encoding="utf-8") == OLD
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert len(leftovers) == 1 and leftovers[0].startswith(".report.txt.")  # hidden temp
    write_text(target, "next run\n")
    assert target.read_text(encoding="utf-8") == "next run\n"
