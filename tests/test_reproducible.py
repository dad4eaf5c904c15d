"""Same inputs, same bytes: re-running train, evaluate and plot changes only the timing file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from support.process import run

pytestmark = pytest.mark.slow

TIMING = "metrics/timing.json"


def digests(repo: Path) -> dict[str, str]:
    """md5 of the model, every file under metrics/, dvclive/ and plots/ but the timing file."""
    files = [repo / "models/model.pkl"]
    for folder in ("metrics", "dvclive", "plots"):
        files += sorted(p for p in (repo / folder).rglob("*") if p.is_file())
    return {
        str(p.relative_to(repo)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in files
        if p.relative_to(repo).as_posix() != TIMING
    }


def lock_without_timing(repo: Path) -> dict:
    """dvc.lock with the timing file's entry left out."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8"))
    train = lock["stages"]["train"]
    train["outs"] = [o for o in train["outs"] if o["path"] != TIMING]
    return lock


def test_forced_reruns_give_the_same_bytes(tiny_repo):
    before, lock = digests(tiny_repo), lock_without_timing(tiny_repo)
    assert {"models/model.pkl", "metrics/test.json", "plots/loss.png"} <= set(before)
    for _ in range(2):
        run(["dvc", "repro", "--force", "-s", "train", "evaluate", "plot"], tiny_repo)
        assert digests(tiny_repo) == before
    assert lock_without_timing(tiny_repo) == lock
    changed = run(["git", "status", "--porcelain"], tiny_repo).stdout.split("\n")
    assert {line[3:] for line in changed if line} <= {"dvc.lock", TIMING}
