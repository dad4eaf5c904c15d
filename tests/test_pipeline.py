"""End to end: the real dvc.yaml in a temporary git repo, tiny corpus, tiny local encoder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["dvc.yaml", "params.yaml", "pyproject.toml", ".gitignore", ".dvcignore",
                 ".dvc/config", ".dvc/.gitignore", "stages", "src"]

pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"],
           "PYTHONPATH": str(cwd / "src"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def tiny_params(path: Path, corpus: Path, encoder: Path) -> None:
    params = yaml.safe_load(path.read_text())
    params["data"]["dir"] = str(corpus)
    params["prepare"].update(max_dev=None)
    params["model"].update(name=str(encoder), num_layers=None)
    params["tokenize"].update(max_length=32, stride=8)
    params["train"].update(max_steps=6, eval_every=3, log_every=1, batch_size=16, precision="fp32")
    params["evaluate"].update(bootstrap=50, n_errors=5)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory, tiny_corpus, tiny_encoder) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, repo / name)
    tiny_params(repo / "params.yaml", tiny_corpus, tiny_encoder)
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "project"], repo)
    run(["dvc", "repro", "plot"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "baseline"], repo)
    return repo


def test_repro_writes_every_output(repo):
    stats = json.loads((repo / "data/prepared/stats.json").read_text())
    test = json.loads((repo / "metrics/test.json").read_text())
    assert test["Ent"]["support"] + test["O"]["support"] == stats["test"]["characters"]
    assert set(test) >= {"Ent", "O", "accuracy", "macro avg", "weighted avg", "confusion",
                         "verdict", "mcc", "ent_f1_ci", "baseline", "spans"}
    assert "precision" in (repo / "metrics/test_report.txt").read_text()
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
    f1s, weights = [], []
    for r in runs:
        data = r["data"]
        f1s.append(data["metrics"]["metrics/test.json"]["data"]["Ent"]["f1-score"])
        weights.append(data["params"]["params.yaml"]["data"]["train"]["ent_weight"])
    assert sorted(weights) == [1.0, 4]
    assert all(0 <= f <= 1 for f in f1s)
    name = [r["name"] for r in runs if r.get("name") and r["name"] != "main"][0]
    run(["dvc", "plots", "diff", "HEAD", name, "-o", "dvc_plots"], repo)
    assert (repo / "dvc_plots/index.html").is_file()
