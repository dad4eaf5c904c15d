"""Data-parallel training on CPU: ``train.processes: 2`` makes the train stage relaunch
itself under torchrun (gloo). With the same global batch (16), seed and dropout 0, its
loss curve must be the one-process run's, and it must write one set of outputs.

The one-process run is the reproduced tiny repo's own (the template ran it on the CPU);
the two-process run is ``dvc repro train`` in a copy after changing only the param.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from support.process import run

from enttag.encode.windows import IGNORE
from enttag.training.distributed import Processes

# Per logged step. The two runs differ only in the order floats are summed (the batch is
# split in two halves, gradients all-reduced): rounding at ~1e-7, far below 1e-4.
TOLERANCE = 1e-4
CURVES = ("fit/loss.tsv", "dev/loss.tsv")
HANG_SECONDS = 240  # the two-process run takes ~30 s on 2 loaded cores


def curve(repo: Path, name: str) -> dict[int, float]:
    """step -> value of one dvclive curve; a step logged twice would fail here."""
    header, *lines = (repo / "dvclive/plots/metrics" / name).read_text().splitlines()
    rows = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    steps = [int(row["step"]) for row in rows]
    assert len(steps) == len(set(steps)), f"{name}: a step logged more than once"
    key = Path(name).stem
    return {int(row["step"]): float(row[key]) for row in rows}


def outputs(repo: Path) -> set[str]:
    """Every file the train stage writes (dvclive, models, the resume checkpoint folder)."""
    folders = [repo / name for name in ("dvclive", "models", "checkpoints")]
    return {str(p.relative_to(repo)) for f in folders for p in f.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_two_processes_follow_the_one_process_loss_curve_and_write_once(tiny_repo):
    one = {name: curve(tiny_repo, name) for name in CURVES}
    written = outputs(tiny_repo)
    assert "checkpoints/train/README.md" in written and "models/model.pkl" in written
    params_file = tiny_repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    assert params["train"]["processes"] == 1 and params["train"]["dropout"] == 0.0
    params["train"]["processes"] = 2
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))

    # a teardown hang must fail here, with the stacks, not wait for the group timeout
    out = run(["dvc", "repro", "train"], tiny_repo, timeout=HANG_SECONDS).stdout
    assert "torch.distributed.run --standalone --nproc-per-node=2 -m stages.train" in out

    for name in CURVES:
        two = curve(tiny_repo, name)
        assert list(two) == list(one[name]), name  # the same logged steps, each once
        worst = max(abs(two[s] - one[name][s]) for s in two)
        assert worst < TOLERANCE, f"{name}: |loss difference| up to {worst:.2e}"
    assert outputs(tiny_repo) == written  # one set: no second model, log or checkpoint
    assert "up to date" in run(["dvc", "status", "train"], tiny_repo).stdout


def test_a_process_without_rows_gets_one_that_counts_for_nothing():
    batch = {
        "input_ids": torch.tensor([[2, 7, 3], [2, 8, 3], [2, 9, 3]]),
        "tags": torch.tensor([[IGNORE, 0, IGNORE], [IGNORE, 2, IGNORE], [IGNORE, 2, IGNORE]]),
    }
    shares = [Processes(rank, 2).share(batch) for rank in (0, 1)]
    assert shares[0]["input_ids"].tolist() == [[2, 7, 3], [2, 8, 3]]
    assert shares[1]["input_ids"].tolist() == [[2, 9, 3]]
    last = {key: value[2:] for key, value in batch.items()}  # one row for two processes
    empty = Processes(1, 2).share(last)
    assert empty["input_ids"].shape == (1, 3) and (empty["tags"] == IGNORE).all()
    assert Processes(0, 1).share(batch) is batch
