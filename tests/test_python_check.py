"""`make setup` on too old a Python stops on one line, the bound read from pyproject.toml.

The interpreters here are fakes: shell scripts that print a version whatever they are asked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.process import ROOT, subprocess_env

CHECK = ROOT / "tools" / "check_python.sh"


def fake_python(folder: Path, version: str, name: str = "python3") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def check(python: str | Path, script: Path = CHECK) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(script), str(python)], capture_output=True, text=True)


def test_a_too_old_python_gets_one_line(tmp_path):
    old = fake_python(tmp_path, "3.10.12")
    result = check(old)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"enttag needs Python >=3.11; {old} is 3.10.12\n"


@pytest.mark.parametrize(
    ("version", "ok"), [("3.9.18", False), ("3.10.99", False), ("3.11.0", True), ("3.13.1", True)]
)
def test_the_bound_is_compared_part_by_part(tmp_path, version, ok):
    result = check(fake_python(tmp_path, version))
    assert (result.returncode == 0) == ok
    assert (result.stderr == "") == ok


def test_this_python_passes_and_a_missing_one_is_named():
    assert check(sys.executable).returncode == 0
    assert check(sys.executable).stderr == ""
    missing = check("/nonexistent/python3")
    assert missing.returncode == 1
    assert (
        missing.stderr
        == "enttag needs Python >=3.11; /nonexistent/python3 is missing or does not run\n"
    )


def test_the_bound_is_the_requires_python_of_pyproject(tmp_path):
    (tmp_path / "tools").mkdir()
    script = Path(shutil.copy(CHECK, tmp_path / "tools"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert pyproject.count('requires-python = ">=3.11"') == 1
    (tmp_path / "pyproject.toml").write_text(
        pyproject.replace('requires-python = ">=3.11"', 'requires-python = ">=3.13.2"')
    )
    result = check(fake_python(tmp_path / "bin", "3.13.1"), script)
    assert result.stderr.startswith("enttag needs Python >=3.13.2; ")
    assert check(fake_python(tmp_path / "bin", "3.13.2"), script).returncode == 0


def test_make_setup_with_an_old_python3_stops_on_one_line_before_installing(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tools", project / "tools")
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, project / name)
    fake_python(tmp_path / "bin", "3.10.12")
    env = subprocess_env()
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"  # before the venv's python3
    result = subprocess.run(
        ["make", "--no-print-directory", "setup"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "*** enttag needs Python >=3.11; python3 is 3.10.12." in lines[0]
    assert not (project / ".venv").exists()
