"""The DVC experiments of the current commit as :class:`Run` rows.

Everything comes from ``dvc exp show --json``: the lean ``metrics/test.json`` (flat
scalars). The full test report, an ordinary output, is read from the run's own commit
(``git show <rev>:metrics/test_report.json``) when wanted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from enttag.errors import EnttagError

TEST_METRICS = "metrics/test.json"
TEST_REPORT = "metrics/test_report.json"
TEST_COUNTS = "metrics/test_counts.jsonl"  # per test sentence [tp, fn, fp, tn], from evaluate
DONE = "success"


@dataclass(frozen=True)
class Run:
    """One row of ``dvc exp show``: a baseline commit or one of its experiments."""

    name: str
    rev: str
    baseline: str  # name of the commit it branches from; its own name for a commit
    state: str  # DVC's experiment state: "success", "queued", "running" or "failed"
    changed: dict[str, Any]  # params that differ from the baseline commit
    test: dict[str, Any]  # metrics/test.json as DVC reports it ({} if absent)
    report: dict[str, Any] = field(default_factory=dict)  # metrics/test_report.json, if read
    # (n_sentences, 4) per-sentence test counts from the run's commit; None if not read
    counts: np.ndarray | None = field(default=None, compare=False)
    params: dict[str, Any] = field(default_factory=dict)  # every param, flat (``train.seed``)

    @property
    def finished(self) -> bool:
        return self.state == DONE and "ent_f1" in self.test

    @property
    def ent_f1(self) -> float:
        return self.test["ent_f1"]


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def params_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flat params of one row; keys of params.yaml as ``train.lr``, other files as ``f:key``."""
    flat: dict[str, Any] = {}
    for path, content in (data.get("params") or {}).items():
        prefix = "" if path == "params.yaml" else f"{path}:"
        flat |= {prefix + k: v for k, v in flatten(content.get("data") or {}).items()}
    return flat


def scores_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """metrics/test.json of one row, as DVC reports it."""
    return ((data.get("metrics") or {}).get(TEST_METRICS) or {}).get("data") or {}


def differing(params: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The params whose value differs from (or is missing in) the baseline's."""
    return {k: v for k, v in params.items() if k not in base or base[k] != v}


def experiment_run(exp: Mapping[str, Any], baseline: str, base_params: dict[str, Any]) -> Run:
    """One experiment of ``dvc exp show --json`` (no executor: finished in the workspace)."""
    rev = exp["revs"][0]
    data = rev.get("data") or {}
    state = (exp.get("executor") or {}).get("state") or ("failed" if rev.get("error") else DONE)
    params = params_of(data)
    return Run(
        exp.get("name") or rev.get("name") or rev["rev"][:7],
        rev["rev"],
        baseline,
        state,
        differing(params, base_params),
        scores_of(data),
        params=params,
    )


def runs_from_show(show: list[dict[str, Any]]) -> list[Run]:
    """Every baseline commit and experiment in ``dvc exp show --json``, workspace left out."""
    runs = []
    for commit in show:
        if commit["rev"] == "workspace":
            continue
        data = commit.get("data") or {}
        name = commit.get("name") or commit["rev"][:7]
        params = params_of(data)
        runs.append(Run(name, commit["rev"], name, DONE, {}, scores_of(data), params=params))
        runs += [experiment_run(exp, name, params) for exp in commit.get("experiments") or []]
    return runs


def ranked(runs: list[Run]) -> list[Run]:
    """Finished runs, best test Ent F1 first."""
    return sorted((r for r in runs if r.finished), key=lambda r: r.ent_f1, reverse=True)


def run_command(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` with this Python's bin folder first on PATH (where the venv's dvc is);
    a command that is not installed is one EnttagError line."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    try:
        return subprocess.run(cmd, capture_output=True, env={**os.environ, "PATH": path})
    except FileNotFoundError:
        raise EnttagError(
            f"{cmd[0]} is not installed (not on PATH): run `make setup` and use the venv's enttag"
        ) from None


def command_output(cmd: list[str]) -> bytes | None:
    """stdout of ``cmd``, or None if it fails."""
    result = run_command(cmd)
    return result.stdout if result.returncode == 0 else None


def exp_show() -> list[dict[str, Any]]:
    cmd = ["dvc", "exp", "show", "--json"]
    out = command_output(cmd)
    if out is None:
        raise EnttagError(f"{' '.join(cmd)} failed: {error_line(cmd)}")
    return json.loads(out)


def error_line(cmd: list[str]) -> str:
    """The ``ERROR: ...`` line (else the last line) of a failed ``cmd``, run again."""
    result = run_command(cmd)
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return next((x for x in lines if x.startswith("ERROR")), lines[-1] if lines else "(no message)")


def committed(rev: str, path: str) -> bytes | None:
    """``path`` as committed in ``rev``."""
    return command_output(["git", "show", f"{rev}:{path}"])


def with_report(run: Run) -> Run:
    """The run with its full test report and its per-sentence test counts (for paired
    comparisons), read from its commit (each left as it was if absent)."""
    raw = committed(run.rev, TEST_REPORT)
    if raw is not None:
        run = replace(run, report=json.loads(raw))
    rows = committed(run.rev, TEST_COUNTS)
    if rows is not None:
        counts = [json.loads(r) for r in rows.splitlines() if r.strip()]
        run = replace(run, counts=np.array(counts, dtype=np.int64).reshape(-1, 4))
    return run
