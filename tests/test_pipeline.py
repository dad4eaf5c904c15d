"""End to end: the real dvc.yaml in a temporary git repo, tiny corpus, tiny local encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from support.process import run
from support.repo import copy_repo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory, reproduced_template) -> Path:
    return copy_repo(reproduced_template, tmp_path_factory.mktemp("repo") / "repo")


def test_repro_writes_every_output(repo):
    stats = json.loads((repo / "data/prepared/stats.json").read_text())
    full = json.loads((repo / "metrics/test_report.json").read_text())
    assert full["Ent"]["support"] + full["O"]["support"] == stats["test"]["characters"]
    assert set(full) >= {
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
        "entities",
    }
    lean = json.loads((repo / "metrics/test.json").read_text())
    assert set(lean) == {
        "ent_precision",
        "ent_recall",
        "ent_f1",
        "ent_f1_lo",
        "ent_f1_hi",
        "macro_f1",
        "mcc",
        "verdict",
        "span_f1",
        "baseline_ent_f1",
        "beats_baseline",
        "lift",
        "lift_lo",
        "lift_hi",
        "entity_f1",
        "entity_f1_lo",
        "entity_f1_hi",
        "baseline_entity_f1",
        "entity_lift",
        "entity_lift_lo",
        "entity_lift_hi",
        "entity_beats_baseline",
        "tuned_ent_f1",
        "best_dev_ent_f1",
        "best_step",
    }
    assert lean["ent_f1"] == full["Ent"]["f1-score"] and lean["verdict"] == full["verdict"]
    assert [lean["ent_f1_lo"], lean["ent_f1_hi"]] == full["ent_f1_ci"]
    assert lean["entity_f1"] == full["entities"]["f1"]
    assert full["entities"]["gold"] == stats["test"]["entities"]  # the corpus's entities
    assert set(json.loads((repo / "metrics/timing.json").read_text())) == {
        "train_seconds",
        "train_chars_per_s",
    }
    text = (repo / "metrics/test_report.txt").read_text()
    assert text.startswith(f"test: {stats['test']['characters']} characters scored\n")
    ent_row = next(line.split() for line in text.splitlines() if line.split()[:1] == ["Ent"])
    assert ent_row == [
        "Ent",
        *(f"{full['Ent'][k]:.4f}" for k in ("precision", "recall", "f1-score")),
        str(int(full["Ent"]["support"])),
    ]
    for png in ("loss.png", "dev_scores.png", "confusion_test.png", "pr_dev.png"):
        assert (repo / "plots" / png).stat().st_size > 1000
    assert (repo / "dvclive/plots/metrics/fit/loss.tsv").read_text().startswith("step\tloss")
    import torch

    checkpoint = torch.load(repo / "models/model.pkl", weights_only=True)
    assert checkpoint["params"]["train"]["max_steps"] == 6
    assert "train_chars_per_s" not in checkpoint["train"]  # no wall-clock in the model
    assert lean["best_step"] == checkpoint["train"]["best_step"]


@pytest.fixture(scope="module")
def experiments(repo) -> list[str]:
    """Two real experiments, one param each (the second keeps the first's, as DVC does)."""
    return [
        run(["dvc", "exp", "run", "-S", assignment], repo).stdout
        for assignment in ("train.ent_weight=4", "train.head_lr=0.01")
    ]


def test_experiment_variant_and_comparison(repo, experiments):
    out = experiments[0]
    assert "Running stage 'prepare'" not in out  # only train, evaluate and plot re-run
    assert "Running stage 'train'" in out
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
        shown = data["metrics"]["metrics/test.json"]["data"]["ent_f1"]
        committed = json.loads(run(["git", "show", f"{r['rev']}:metrics/test.json"], repo).stdout)
        assert shown == pytest.approx(committed["ent_f1"])  # each run's own metrics
        dev = json.loads(run(["git", "show", f"{r['rev']}:dvclive/metrics.json"], repo).stdout)
        by_weight[weight] = dev["dev"]["loss"]
    assert sorted(by_weight) == [1.0, 4]  # the second experiment keeps the first's weight
    assert by_weight[1.0] != by_weight[4]  # the Ent weight changed the training loss
    name = [r["name"] for r in runs if r.get("name") and r["name"] != "main"][0]
    run(["dvc", "plots", "diff", "HEAD", name, "-o", "dvc_plots"], repo)
    assert (repo / "dvc_plots/index.html").is_file()


def test_exp_show_stays_small_and_compare_is_readable_in_200_columns(repo, experiments):
    csv = run(["dvc", "exp", "show", "--only-changed", "--csv"], repo).stdout
    header = csv.splitlines()[0].split(",")
    # ~120 with full reports; +view_test.jsonl (a plot dep), +models/tagger.pkl (evaluate's),
    # +8 entity metrics
    assert len(header) < 41, header
    assert {"ent_f1", "train.ent_weight", "train.head_lr"} <= set(header)
    assert not any(c.startswith(("Ent.", "macro avg", "vocab.", "dev.", "fit.")) for c in header)
    full = run(["dvc", "exp", "show", "--csv"], repo).stdout.splitlines()[0].split(",")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"].values()
    deps = {d if isinstance(d, str) else next(iter(d)) for s in stages for d in s.get("deps", [])}
    lean = json.loads((repo / "metrics/test.json").read_text())
    keys = {f"{name}.{key}" for name, section in params.items() for key in section}
    others = [c for c in full if c not in {"Experiment", "rev", "typ", "Created", "parent"}]
    others = [c for c in others if c not in lean and c not in keys]
    # nothing but the lean metrics, the params and one column per dependency (DVC lists
    # every dep; the tiny corpus, outside the repo, twice); the full reports stay out
    assert len(others) <= len(deps) + 1, others
    assert all("/" in c for c in others), others  # dependency paths, no report keys
    out = run(["enttag", "compare", "--no-pager"], repo, COLUMNS="200").stdout
    out, below = out.split("\nRuns that differ only in train.seed: ", 1)
    lines = [line for line in out.splitlines() if not line.startswith("+ ")]  # not the echo
    table = "\n".join(lines)
    assert "…" not in table and max(map(len, lines)) <= 200, table
    columns = next(line for line in lines if "Experiment" in line).split()
    assert columns[:10] == [
        "Experiment",
        "ent_precision",
        "ent_recall",
        "ent_f1",
        "ent_f1_lo",
        "ent_f1_hi",
        "verdict",
        "beats_baseline",
        "entity_f1",
        "entity_beats_baseline",
    ]
    assert sorted(columns[10:]) == ["train.ent_weight", "train.head_lr"]
    # then the runs pooled over seeds (here one seed each), against the best one
    groups = [line.split("  ") for line in below.strip().splitlines()[2:]]
    standings = [[c.strip() for c in g if c.strip()][2] for g in groups]
    assert len(standings) == 3 and standings[0].startswith("best; verdict: ")
    single = "(one run each: retrain noise not measured); verdict: "
    assert all(s.startswith(("worse: ", "not distinguishable from best: ")) for s in standings[1:])
    assert all(single in s and "; beats baseline: " in s for s in standings[1:])
    rows = [line for line in lines if "main" in line or "[" in line]
    verdicts = [v for row in rows for v in row.split() if v in {"learned", "chance", "collapsed"}]
    beats = ("yes", "no", "not distinguishable")  # Ent F1's and entity F1's, per row
    assert len(verdicts) == 3 and all(any(f" {b} " in row for b in beats) for row in rows)
