"""The project's paths, and the commands tests start: their environment, ``run``, ``make``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
VENV = VENV_BIN.parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}
# An outer make's (under `make test`): a make the tests start would print "Entering directory"
# lines and look for the outer make's jobserver.
OUTER_MAKE = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}


def subprocess_env(project: Path = ROOT, *, stages: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a command a test starts: this interpreter's venv first on PATH (its
    ``dvc``, ``enttag``, ``python``), ``project``/src first on PYTHONPATH so the command runs
    the sources under test (with ``stages``, ``project`` itself too: ``python -m stages.x``),
    an outer make's variables left out; ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"
    paths = [str(project / "src"), *([str(project)] if stages else [])]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env | extra


def run(
    cmd: list[str], cwd: Path, timeout: float | None = None, **env: str
) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd`` with the venv on PATH and ``cwd``'s own sources; fail loudly.

    Past ``timeout`` seconds every process of the command gets SIGABRT, on which
    Python's faulthandler prints each thread's stack: a hang fails with where it hung.
    """
    env = subprocess_env(cwd, **GIT_IDENTITY, PYTHONFAULTHANDLER="1", **env)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for process in [*psutil.Process(proc.pid).children(recursive=True), proc]:
            try:
                process.send_signal(signal.SIGABRT)
            except psutil.NoSuchProcess:
                pass
        stdout, stderr = proc.communicate()
        raise AssertionError(
            f"{' '.join(cmd)} still running after {timeout} s; the stacks:\n{stdout}\n{stderr}"
        ) from None
    result = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def make(cwd: Path, *args: str, **env: str) -> str:
    """``make args`` in ``cwd`` with this interpreter's venv, never reinstalling it; its stdout."""
    stamp = VENV / ".installed"
    argv = ["make", "--no-print-directory", f"VENV={VENV}", "-o", str(stamp), *args]
    return run(argv, cwd, **env).stdout
