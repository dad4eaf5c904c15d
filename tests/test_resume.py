"""Faults in the train stage: a kill or Ctrl-C resumes to the same bytes; divergence stops it."""

from __future__ import annotations

import hashlib
import math
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from support.process import subprocess_env
from support.repo import copy_repo

from enttag.training.resume import Checkpoints

pytestmark = pytest.mark.slow

CHECKPOINT = Path("checkpoints/train/state.pt")
# Long enough to be stopped midway, short enough for a test: 2 epochs, dropout on (RNG state).
RUN = {"epochs": 3, "max_steps": 20, "eval_every": 6, "log_every": 2, "checkpoint_every": 2}


def set_train(repo: Path, **changes) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"].update(changes)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def start_train(repo: Path) -> subprocess.Popen:
    return subprocess.Popen(
        ["python", "-m", "stages.train"],
        cwd=repo,
        env=subprocess_env(repo),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err


def run_train(repo: Path) -> str:
    code, err = finish(start_train(repo))
    assert code == 0, err
    return err


def wait_for_checkpoint(repo: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while not (repo / CHECKPOINT).exists():
        assert proc.poll() is None, "train ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def outputs(repo: Path) -> dict[str, str]:
    """md5 of the model, dvclive's metrics and every dvclive step file."""
    files = [repo / "models/model.pkl", *sorted((repo / "dvclive").rglob("*"))]
    return {
        str(p.relative_to(repo)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in files
        if p.is_file()
    }


@pytest.fixture(scope="module")
def uninterrupted(reproduced_template, tmp_path_factory) -> dict[str, str]:
    repo = copy_repo(reproduced_template, tmp_path_factory.mktemp("uninterrupted") / "repo")
    set_train(repo, dropout=0.1, **RUN)
    run_train(repo)
    assert not (repo / CHECKPOINT).exists()
    return outputs(repo)


def test_killed_run_resumes_to_the_same_bytes(tiny_repo, uninterrupted):
    set_train(tiny_repo, dropout=0.1, **RUN)
    proc = start_train(tiny_repo)
    wait_for_checkpoint(tiny_repo, proc)
    proc.kill()  # SIGKILL: no handler runs
    assert finish(proc)[0] == -signal.SIGKILL
    err = run_train(tiny_repo)
    assert f"{CHECKPOINT}: resuming at step" in err
    assert outputs(tiny_repo) == uninterrupted
    assert not (tiny_repo / CHECKPOINT).exists()
    assert (tiny_repo / CHECKPOINT).with_name("README.md").is_file()  # the DVC output stays


def test_sigint_stops_with_one_line_and_resumes(tiny_repo, uninterrupted):
    set_train(tiny_repo, dropout=0.1, **RUN)
    proc = start_train(tiny_repo)
    wait_for_checkpoint(tiny_repo, proc)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 1
    assert "Traceback" not in err
    saved = torch.load(tiny_repo / CHECKPOINT, weights_only=True)
    step = saved["progress"]["step"]
    assert err.rstrip().splitlines()[-1] == (
        f"train: error: interrupted at step {step}; run the same command to resume"
    )
    run_train(tiny_repo)
    assert outputs(tiny_repo) == uninterrupted


def test_sigterm_also_checkpoints(tiny_repo):
    set_train(tiny_repo, **RUN)
    proc = start_train(tiny_repo)
    wait_for_checkpoint(tiny_repo, proc)
    proc.terminate()
    code, err = finish(proc)
    assert code == 1 and "interrupted at step" in err.splitlines()[-1]
    assert (tiny_repo / CHECKPOINT).is_file()


def test_checkpoint_of_other_params_is_discarded(tiny_repo):
    set_train(tiny_repo, **RUN)
    proc = start_train(tiny_repo)
    wait_for_checkpoint(tiny_repo, proc)
    proc.kill()
    finish(proc)
    set_train(tiny_repo, ent_weight=2.0)
    err = run_train(tiny_repo)
    assert f"{CHECKPOINT}: discarded, written for other params, data or encoder" in err
    assert "resuming" not in err


def test_divergence_stops_at_once_and_writes_no_model(tiny_repo):
    model = tiny_repo / "models/model.pkl"
    before = model.read_bytes()
    set_train(tiny_repo, encoder_lr=1e3, head_lr=1e3, max_steps=30, checkpoint_every=1)
    code, err = finish(start_train(tiny_repo))
    last = err.rstrip().splitlines()[-1]
    assert code == 1 and "Traceback" not in err
    assert last.startswith("train: error: training diverged at step ")
    loss, norm = re.search(r"loss (\S+), gradient norm (\S+) ", last).groups()
    assert not (math.isfinite(float(loss)) and math.isfinite(float(norm)))
    assert "learning rates: encoder " in last and "head " in last
    assert model.read_bytes() == before  # not rewritten
    assert not (tiny_repo / CHECKPOINT).exists()


def test_unreadable_checkpoint_is_discarded(tmp_path, capsys):
    (tmp_path / "in.txt").write_text("x")
    checkpoints = Checkpoints(tmp_path / "ck", {"train": {"seed": 0}}, [tmp_path / "in.txt"])
    checkpoints.path.write_bytes(b"")
    assert checkpoints.load() is None
    assert "discarded, unreadable" in capsys.readouterr().err
    assert not checkpoints.path.exists()


def test_fingerprint_follows_inputs_not_checkpoint_cadence(tmp_path):
    (tmp_path / "in.txt").write_text("x")

    def fp(**train) -> str:
        return Checkpoints(tmp_path / "ck", {"train": train}, [tmp_path / "in.txt"]).fingerprint

    base = fp(seed=0, checkpoint_every=5)
    assert fp(seed=0, checkpoint_every=7) == base
    assert fp(seed=1, checkpoint_every=5) != base
    (tmp_path / "in.txt").write_text("y")
    assert fp(seed=0, checkpoint_every=5) != base
