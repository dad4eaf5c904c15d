"""Time every stage of the pipeline on the current params, and report the test scores.

    python benchmarks/pipeline.py [--json benchmarks/pipeline.json]

Runs each stage's command from dvc.yaml in order (as ``dvc repro`` would, but
unconditionally), measuring wall time and peak resident memory of each stage's
process, then prints a Markdown table with the test Ent precision / recall / F1
of the model and of the baseline. Run it from the project root with the venv
active. It rewrites the stages' outputs: commit or stash first, then run
``dvc commit`` (or ``dvc repro``) afterwards to update ``dvc.lock``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import time
from pathlib import Path

import yaml


def run_stage(cmd: str) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in GiB) of its process."""
    start = time.perf_counter()
    proc = subprocess.Popen(shlex.split(cmd))
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage command failed: {cmd}")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip", nargs="*", default=[], help="stages not to run (e.g. fetch)")
    args = parser.parse_args()
    stages = yaml.safe_load(Path("dvc.yaml").read_text())["stages"]
    rows = []
    for name, stage in stages.items():
        if name in args.skip:
            continue
        wall, peak = run_stage(stage["cmd"])
        rows.append({"stage": name, "wall_s": round(wall, 1), "peak_gib": round(peak, 2)})
    test = json.loads(Path("metrics/test_report.json").read_text())
    scores = {
        "model": {k: round(test["Ent"][k], 4) for k in ("precision", "recall", "f1-score")},
        "baseline": {
            k: round(test["baseline"][f"ent_{k}"], 4) for k in ("precision", "recall", "f1")
        },
        "ent_f1_ci": [round(v, 4) for v in test["ent_f1_ci"]],
        "verdict": test["verdict"],
    }
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "stages": rows,
        "total_s": round(sum(r["wall_s"] for r in rows), 1),
        "test": scores,
    }
    print("| stage | wall time (s) | peak memory (GiB) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['stage']} | {r['wall_s']} | {r['peak_gib']} |")
    print(f"| **total** | {result['total_s']} | |\n")
    print(json.dumps(scores, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
