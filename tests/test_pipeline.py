"""End to end: the real dvc.yaml in a temporary git repo, tiny corpus, tiny local encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dvc_repo import copy_repo, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory, reproduced_template) -> Path:
    return copy_repo(reproduced_template, tmp_path_factory.mktemp("repo") / "repo")


def test_repro_writes_every_output(repo):
    stats = json.loads((repo / "data/prepared/stats.json").read_text())
    test = json.loads((repo / "metrics/test.json").read_text())
    assert test["Ent"]["support"] + test["O"]["support"] == stats["test"]["characters"]
    assert set(test) >= {
        "Ent",
        "O",
        "accuracy",
        "macro avg",
        "weighted avg",
        "confusion",
        "verdict",
        "mcc",
        "ent_f1_ci",
        "baseline",
        "spans",
    }
    text = (repo / "metrics/test_report.txt").read_text()
    assert text.startswith(f"test: {stats['test']['characters']} characters scored\n")
    ent_row = next(line.split() for line in text.splitlines() if line.split()[:1] == ["Ent"])
    assert ent_row == [
        "Ent",
        *(f"{test['Ent'][k]:.4f}" for k in ("precision", "recall", "f1-score")),
        str(int(test["Ent"]["support"])),
    ]
    for png in ("loss.png", "dev_scores.png", "confusion_test.png", "pr_dev.png"):
        assert (repo / "plots" / png).stat().st_size > 1000
    assert (repo / "dvclive/plots/metrics/fit/loss.tsv").read_text().startswith("step\tloss")
    import torch

    checkpoint = torch.load(repo / "models/model.pkl", weights_only=True)
    assert checkpoint["params"]["train"]["max_steps"] == 6


def test_experiment_variant_and_comparison(repo):
    out = run(["dvc", "exp", "run", "-S", "train.ent_weight=4"], repo)
    assert "Running stage 'prepare'" not in out.stdout  # only train, evaluate and plot re-run
    assert "Running stage 'train'" in out.stdout
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout)
    runs = []
    for commit in (c for c in shown if c["rev"] != "workspace"):
        runs.append(commit)
        for exp in commit.get("experiments") or []:
            runs += exp["revs"]
    by_weight = {}
    for r in runs:
        data = r["data"]
        weight = data["params"]["params.yaml"]["data"]["train"]["ent_weight"]
        shown = data["metrics"]["metrics/test.json"]["data"]["Ent"]["f1-score"]
        committed = json.loads(run(["git", "show", f"{r['rev']}:metrics/test.json"], repo).stdout)
        assert shown == pytest.approx(committed["Ent"]["f1-score"])  # each run's own metrics
        dev = json.loads(run(["git", "show", f"{r['rev']}:dvclive/metrics.json"], repo).stdout)
        by_weight[weight] = dev["dev"]["loss"]
    assert sorted(by_weight) == [1.0, 4]
    assert by_weight[1.0] != by_weight[4]  # the Ent weight changed the training loss
    name = [r["name"] for r in runs if r.get("name") and r["name"] != "main"][0]
    run(["dvc", "plots", "diff", "HEAD", name, "-o", "dvc_plots"], repo)
    assert (repo / "dvc_plots/index.html").is_file()
