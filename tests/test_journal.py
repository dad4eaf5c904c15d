"""The journal's parsing and formatting, on JSON shaped like `dvc exp show --json` output.

test_experiments.py builds a journal from a real `dvc exp show --json`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from enttag.experiments import journal, runs
from enttag.experiments.journal import classification_text, journal_text, standing
from enttag.experiments.runs import Run, ranked, runs_from_show, with_report
from enttag.metrics.counts import sentence_counts
from enttag.report.bootstrap import summary
from enttag.report.evaluate import headline
from enttag.report.per_class import report

BASE, EXP_A, EXP_B, EXP_Q = "a" * 40, "b" * 40, "c" * 40, "d" * 40
PARAMS = {"train": {"ent_weight": 1.0, "head_lr": 0.001, "seed": 0}, "evaluate": {"seed": 0}}


def full_report(seed: int, ci: tuple[float, float]) -> dict:
    """metrics/test_report.json from a real sklearn report."""
    rng = np.random.default_rng(seed)
    gold = [rng.integers(0, 2, 30) for _ in range(5)]
    pred = [np.where(rng.random(30) < 0.8, g, 1 - g) for g in gold]
    metrics, _ = report(gold, pred)
    return metrics | {
        "verdict": "learned",
        "verdict_reason": "learned: above chance",
        "mcc": 0.5,
        "spans": {"f1": 0.6},
        "baseline": {"kind": "crf", "ent_f1": 0.5},
        "baseline_lift": {"ent_f1_diff": 0.1, "ci": [0.05, 0.15]},
        "beats_baseline": "yes",
        "at_dev_threshold": {
            "threshold": 0.4,
            "ent_precision": 0.7,
            "ent_recall": 0.8,
            "ent_f1": 0.75,
            "macro_f1": 0.74,
        },
        "ent_f1_ci": list(ci),
    }


def scores(seed: int, ci: tuple[float, float]) -> dict:
    """The lean metrics/test.json evaluate writes for that report."""
    return headline(full_report(seed, ci), {"dev": {"ent_f1": 0.7}, "best_step": 3})


def row(rev: str, name: str, params: dict, test: dict | None) -> dict:
    metrics = {"metrics/test.json": {"data": test}} if test else {}
    return {
        "rev": rev,
        "name": name,
        "error": None,
        "experiments": None,
        "data": {"rev": rev, "params": {"params.yaml": {"data": params}}, "metrics": metrics},
    }


def exp(rev: str, name: str, params: dict, test: dict | None, state: str | None) -> dict:
    executor = {"state": state, "name": "dvc-task", "local": None} if state else None
    return {"revs": [row(rev, name, params, test)], "executor": executor, "name": name}


def with_weight(weight: float, **train) -> dict:
    return {**PARAMS, "train": {**PARAMS["train"], "ent_weight": weight, **train}}


@pytest.fixture
def show() -> list[dict]:
    commit = row(BASE, "main", PARAMS, scores(0, (0.5, 0.7)))
    commit["experiments"] = [
        exp(EXP_A, "w10", with_weight(10), scores(1, (0.6, 0.9)), "success"),
        exp(EXP_B, "w4", with_weight(4, head_lr=0.005), scores(2, (0.1, 0.2)), None),
        exp(EXP_Q, "w2", with_weight(2), None, "queued"),
    ]
    return [row("workspace", None, PARAMS, None), commit]


def test_runs_from_show_lists_commit_and_experiments(show):
    runs = runs_from_show(show)
    assert [r.name for r in runs] == ["main", "w10", "w4", "w2"]
    by_name = {r.name: r for r in runs}
    assert by_name["main"].changed == {}
    assert by_name["w10"].changed == {"train.ent_weight": 10}
    assert by_name["w4"].changed == {"train.ent_weight": 4, "train.head_lr": 0.005}
    assert {r.name for r in runs if r.finished} == {"main", "w10", "w4"}
    assert by_name["w2"].state == "queued" and by_name["w4"].baseline == "main"


def scored(name: str, gold: list[np.ndarray], pred: list[np.ndarray] | None) -> Run:
    """A finished run on ``gold`` with its Ent F1, interval and per-sentence counts."""
    if pred is None:
        return Run(name, name, "main", "success", {}, {"ent_f1": 0.5})
    s = summary(gold, pred, n_boot=journal.N_BOOT, seed=journal.SEED)
    lo, hi = s["ent_f1_ci"]
    test = {"ent_f1": s["ent_f1"], "ent_f1_lo": lo, "ent_f1_hi": hi}
    return Run(name, name, "main", "success", {}, test, counts=sentence_counts(gold, pred))


def test_ranking(show):
    runs = ranked(runs_from_show(show))
    # test Ent F1 of the fixture's reports: main 0.667, w10 0.825, w4 0.773; w2 is queued
    assert [r.name for r in runs] == ["w10", "w4", "main"]


def test_standing_is_a_paired_test_not_an_interval_overlap():
    """Sentences of very different difficulty make each run's interval wide; the second
    run makes the first one's errors plus one more in half of the sentences, so the two
    intervals overlap while the paired difference is clearly below 0."""
    rng = np.random.default_rng(0)
    gold = [(rng.random(30) < 0.4).astype(np.int64) for _ in range(200)]
    hard = [rng.random() * 0.5 for _ in gold]
    first = [np.where(rng.random(30) < h, 1 - g, g) for g, h in zip(gold, hard, strict=True)]
    second = [p.copy() for p in first]
    for g, p in zip(gold[::2], second[::2], strict=True):
        right = np.flatnonzero(p == g)
        p[right[0]] = 1 - g[right[0]]
    best, other = scored("best", gold, first), scored("other", gold, second)
    (lo_a, hi_a), (lo_b, hi_b) = journal.ent_f1_ci(best), journal.ent_f1_ci(other)
    assert lo_a <= hi_b and lo_b <= hi_a  # the per-run intervals overlap
    assert standing(best, best) == "best"
    assert standing(other, best).startswith("worse: -0.0")
    noisy = [np.where(rng.random(30) < h, 1 - g, g) for g, h in zip(gold, hard, strict=True)]
    assert standing(scored("redrawn", gold, noisy), best).startswith(
        "not distinguishable from best"
    )
    assert standing(scored("unknown", gold, None), best) == "n/a (no per-sentence counts)"


def test_classification_text_matches_sklearn():
    rng = np.random.default_rng(3)
    gold = [rng.integers(0, 2, 50) for _ in range(4)]
    pred = [rng.integers(0, 2, 50) for _ in range(4)]
    as_dict, as_text = report(gold, pred)
    assert classification_text(json.loads(json.dumps(as_dict))) == as_text


def test_lean_metrics_are_flat_scalars_dvc_keeps():
    lean = scores(0, (0.5, 0.7))
    assert all(isinstance(v, int | float | str) for v in lean.values())
    assert (lean["ent_f1_lo"], lean["ent_f1_hi"]) == (0.5, 0.7)
    assert (lean["lift"], lean["lift_lo"], lean["lift_hi"]) == (0.1, 0.05, 0.15)
    assert lean["ent_f1"] == full_report(0, (0.5, 0.7))["Ent"]["f1-score"]
    assert (lean["tuned_ent_f1"], lean["best_dev_ent_f1"], lean["best_step"]) == (0.75, 0.7, 3)


def test_with_report_reads_the_full_report_of_the_run_commit(monkeypatch):
    full = full_report(1, (0.6, 0.9))
    files = {f"{EXP_A}:metrics/test_report.json": json.dumps(full).encode()}
    monkeypatch.setattr(runs, "command_output", lambda cmd: files.get(cmd[2]))
    run_a = Run("w10", EXP_A, "main", "success", {}, scores(1, (0.6, 0.9)))
    assert with_report(run_a).report == full
    assert with_report(Run("w4", EXP_B, "main", "success", {}, {})).report == {}


def test_journal_text_table_sections_and_pending(show):
    reports = {BASE: full_report(0, (0.5, 0.7)), EXP_A: full_report(1, (0.6, 0.9))}
    runs = [replace(r, report=reports.get(r.rev, {})) for r in runs_from_show(show)]
    assets = {
        BASE: ("journal/main-loss.png", "journal/main-errors_test.jsonl"),
        EXP_A: ("journal/w10-loss.png", None),
        EXP_B: (None, None),
    }
    text = journal_text(runs, assets)
    table = [
        line
        for line in text.splitlines()
        if line.startswith("| 1 ") or line.startswith("| 2 ") or line.startswith("| 3 ")
    ]
    assert [line.split("|")[2].strip() for line in table] == [
        f"[{r.name}](#{r.name})" for r in ranked(runs)
    ]
    assert "Not finished: w2 (queued)." in text
    assert "## w2" not in text
    assert "![Loss curve of main](journal/main-loss.png)" in text
    assert "[journal/main-errors_test.jsonl](journal/main-errors_test.jsonl)" in text
    assert "No `plots/loss.png` in this run's commit." in text
    assert "| dev-tuned | 0.400 | 0.7000 | 0.8000 | 0.7500 | 0.7400 |" in text
    assert "| learned | yes |" in text  # beats_baseline in the table
    assert "beats baseline: yes" in text  # and in each section
    assert "0.7500 (t=0.400)" in text and "[0.6000, 0.9000]" in text
    w4 = text.split("\n## w4\n", 1)[1]
    assert "No `metrics/test_report.json` in this run's commit." in w4
    assert "`train.ent_weight=4`, `train.head_lr=0.005`" in text


def test_write_journal_takes_reports_and_assets_from_each_commit(show, tmp_path, monkeypatch):
    files = {
        f"{rev}:{path}": content
        for rev, test in ((BASE, 0), (EXP_A, 1), (EXP_B, 2))
        for path, content in {
            "metrics/test_report.json": json.dumps(full_report(test, (0.1 * test, 0.9))).encode(),
            "plots/loss.png": b"\x89PNG" + bytes([test]),
        }.items()
    }

    def fake(cmd: list[str]) -> bytes | None:
        if cmd[:3] == ["dvc", "exp", "show"]:
            return json.dumps(show).encode()
        assert cmd[:2] == ["git", "show"]
        return files.get(cmd[2])

    monkeypatch.setattr(runs, "command_output", fake)
    out = tmp_path / "docs" / "EXPERIMENTS.md"
    assert journal.run(SimpleNamespace(out=out)) == 0
    text = out.read_text(encoding="utf-8")
    assert (tmp_path / "docs/journal/w10-loss.png").read_bytes() == b"\x89PNG\x01"
    assert not (tmp_path / "docs/journal/w10-errors_test.jsonl").exists()
    assert "Ent F1 95% CI [0.1000, 0.9000]" in text  # w10's section, from its own report
    assert "Ent F1 95% CI [0.2000, 0.9000]" in text
    assert text.count("weighted avg") == 3
    assert "Worst test sentences" not in text
