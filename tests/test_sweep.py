"""The sweep's grid, resume logic and commands (`make sweep` itself: test_experiments.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from dvc.utils.hydra import apply_overrides

from enttag.cli import parser
from enttag.errors import EnttagError
from enttag.experiments.runs import Run
from enttag.experiments.sweep import (
    ENCODER_LR,
    HEAD_LRS,
    WEIGHTS,
    compare_command,
    grid,
    queue_command,
    to_queue,
    unfinished,
)
from enttag.params import load_section

ROOT = Path(__file__).resolve().parents[1]


def test_default_grid_is_the_original_one(monkeypatch):
    for var in ("SWEEP_WEIGHTS", "SWEEP_HEAD_LRS", "SWEEP_ENCODER_LR", "SWEEP_SET", "SWEEP_JOBS"):
        monkeypatch.delenv(var, raising=False)
    args = parser().parse_args(["sweep"])
    points = grid(args.ent_weights, args.head_lrs, args.encoder_lr)
    assert len(points) == 12 and args.extra == [] and args.jobs == 1
    assert {p.name for p in points} == {
        f"w{w}-h{h}" for w in (1, 10, 4, 2) for h in ("1e-3", "5e-3", "1e-2")
    }
    w10 = next(p for p in points if p.name == "w10-h5e-3")
    assert w10.assignments == (
        "train.ent_weight=10",
        "train.o_weight=1",
        "train.head_lr=5e-3",
        "train.encoder_lr=1e-5",
    )


def test_environment_shrinks_the_grid_and_adds_arguments(monkeypatch):
    monkeypatch.setenv("SWEEP_WEIGHTS", "1 10")
    monkeypatch.setenv("SWEEP_HEAD_LRS", "1e-3")
    monkeypatch.setenv("SWEEP_SET", "-S train.max_steps=5 -S 'evaluate.bootstrap=10'")
    args = parser().parse_args(["sweep"])
    assert [p.name for p in grid(args.ent_weights, args.head_lrs, args.encoder_lr)] == [
        "w1-h1e-3",
        "w10-h1e-3",
    ]
    assert args.extra == ["-S", "train.max_steps=5", "-S", "evaluate.bootstrap=10"]
    assert parser().parse_args(["sweep", "--set=-S train.seed=1"]).extra == ["-S", "train.seed=1"]


def test_grid_rejects_a_value_that_is_not_a_number():
    with pytest.raises(EnttagError, match="'1e-3x'"):
        grid(["1"], ["1e-3x"], "1e-5")


def run(name: str, state: str, f1: float | None = 0.5) -> Run:
    return Run(name, name, "main", state, {}, {"ent_f1": f1} if f1 else {})


def test_resume_queues_only_what_has_not_finished_nor_is_pending():
    points = grid(["1", "10"], ["1e-3", "1e-2"], "1e-5")
    runs = [
        run("w1-h1e-3", "success"),
        run("w1-h1e-2", "queued", None),
        run("w10-h1e-3", "running", None),
        run("w10-h1e-2", "failed", None),
        run("main", "success"),
    ]
    assert [p.name for p in to_queue(points, runs)] == ["w10-h1e-2"]
    assert unfinished(points, runs) == ["w1-h1e-2", "w10-h1e-3", "w10-h1e-2"]
    retried = [*runs, run("w10-h1e-2", "success")]  # a failed attempt, then a finished one
    assert to_queue(points, retried) == []
    assert unfinished(points, retried) == ["w1-h1e-2", "w10-h1e-3"]


def test_queue_command_names_the_experiment_and_sets_every_param():
    point = grid(["4"], ["1e-2"], "1e-5")[0]
    assert queue_command(point, ["-S", "train.max_steps=5"]) == [
        "dvc",
        "exp",
        "run",
        "--queue",
        "-n",
        "w4-h1e-2",
        "-S",
        "train.ent_weight=4",
        "-S",
        "train.o_weight=1",
        "-S",
        "train.head_lr=1e-2",
        "-S",
        "train.encoder_lr=1e-5",
        "-S",
        "train.max_steps=5",
    ]


def test_compare_keeps_the_params_and_the_headline_test_metrics():
    """What survives --drop/--keep; --only-changed then keeps only the params that vary."""
    cmd = compare_command(["--md"])
    keep = re.compile(cmd[cmd.index("--keep") + 1])
    drop = re.compile(cmd[cmd.index("--drop") + 1])
    headline = [
        "ent_precision",
        "ent_recall",
        "metrics/test.json:ent_f1",
        "ent_f1_lo",
        "ent_f1_hi",
        "verdict",
        "beats_baseline",
        "entity_f1",
        "entity_beats_baseline",
        "encoder_ent_f1",
        "encoder_beats_baseline",
        "encoder_lift",
        "fused_minus_encoder",
    ]
    params = ["train.ent_weight", "params.yaml:train.head_lr", "baseline.c"]
    others = [
        "Created",
        "macro_f1",
        "mcc",
        "span_f1",
        "baseline_ent_f1",
        "lift",
        "lift_lo",
        "encoder_lift_lo",
        "entity_f1_lo",
        "entity_lift",
        "encoder_entity_f1",
        "tuned_ent_f1",
        "best_dev_ent_f1",
        "best_step",
        "models/model.pkl",
        "metrics/test_report.json",
        "src/enttag/data",
        "../corpus",
    ]
    shown = [
        c for c in ["Experiment", *headline, *params, *others] if keep.match(c) or not drop.match(c)
    ]
    assert shown == ["Experiment", *headline, *params]
    assert "--only-changed" in cmd and "--hide-workspace" in cmd and cmd[-1] == "--md"
    assert cmd[cmd.index("--sort-by") + 1 : cmd.index("--sort-by") + 4] == [
        "metrics/test.json:ent_f1",
        "--sort-order",
        "desc",
    ]
    _, unknown = parser().parse_known_args(["compare", "--md", "--precision", "3"])
    assert unknown == ["--md", "--precision", "3"]


def test_grid_values_reach_training_as_floats(tmp_path):
    for point in grid(WEIGHTS.split(), HEAD_LRS.split(), ENCODER_LR):
        params = shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
        apply_overrides(str(params), list(point.assignments))  # what dvc exp run -S does
        train = load_section("train", params)
        expected = dict(a.split("=") for a in point.assignments)
        assert train.encoder_lr == float(expected["train.encoder_lr"])
        assert train.head_lr == float(expected["train.head_lr"])
        assert train.ent_weight == float(expected["train.ent_weight"])
