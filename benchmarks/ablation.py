"""Ablation of the training levers: each variant trained and evaluated as the pipeline does.

Every variant is params.yaml with a few overrides (``name:section.key=value,...``; an empty
list is params.yaml itself). In its own folder under ``--work`` (data, baseline and encoder
linked from this repository, already made by ``dvc repro baseline tokenize``), the train,
fuse and evaluate stages run as ``dvc repro`` would run them (``python -m stages.train``,
``stages.fuse``, then ``stages.evaluate``). A variant whose folder holds a finished run of
the same overrides is not run again, so an interrupted ablation resumes with the next
variant.

The table: steps, training time and characters/s (``metrics/timing.json``; only
comparable between variants run on an equally loaded machine), dev and test Ent F1 with
95% sentence-bootstrap intervals, exact span F1, the paired lift over the baseline stage
(the CRF) and the paired Ent F1 difference to the first variant, both on the same
resampled test sentences (``evaluate.bootstrap``, ``evaluate.seed``).

    dvc repro baseline tokenize
    python benchmarks/ablation.py --variant default: crf_head:model.head=crf \\
        freeze3:train.freeze_layers=3 [--work benchmarks/ablation] [--out benchmarks/results]

Writes ``ablation.json`` and ``ablation.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from enttag.atomic import write_json, write_text
from enttag.params import load_section
from enttag.report.bootstrap import paired_f1_diff

ROOT = Path(__file__).resolve().parents[1]
LINKED = (
    "data/prepared",
    "data/tokenized",
    "data/baseline",
    "models/encoder",
    "models/baseline",
    "stages",
)
DONE = "ablation_done.txt"  # the overrides of the finished run in a folder


def parse(spec: str) -> tuple[str, dict[str, str]]:
    """``name:section.key=value,...`` -> (name, {"section.key": "value"})."""
    name, _, items = spec.partition(":")
    return name, dict(item.split("=", 1) for item in filter(None, items.split(",")))


def setup(folder: Path, overrides: dict[str, str]) -> None:
    """The variant's folder: linked inputs, params.yaml with the overrides (YAML values)."""
    for rel in LINKED:
        link = folder / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(Path.cwd().resolve() / rel)
    params = yaml.safe_load(Path("params.yaml").read_text())
    for key, value in overrides.items():
        section, name = key.split(".")
        if name not in params.get(section, {}):
            sys.exit(f"--variant: {key} is not a parameter in params.yaml")
        params[section][name] = yaml.safe_load(value)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_variant(folder: Path, overrides: dict[str, str]) -> None:
    marker = folder / DONE
    if marker.exists() and marker.read_text() == json.dumps(overrides, sort_keys=True):
        print(f"{folder.name}: finished run found, not run again", flush=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    setup(folder, overrides)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for stage in ("train", "fuse", "evaluate"):
        print(f"{folder.name}: {stage}", flush=True)
        subprocess.run([sys.executable, "-m", f"stages.{stage}"], cwd=folder, env=env, check=True)
    marker.write_text(json.dumps(overrides, sort_keys=True))


def counts(folder: Path) -> np.ndarray:
    lines = (folder / "metrics/test_counts.jsonl").read_text().splitlines()
    return np.array([json.loads(line) for line in lines])


def row(folder: Path, name: str, overrides: dict, reference: Path, ev) -> dict:
    test = json.loads((folder / "metrics/test.json").read_text())
    dev = json.loads((folder / "metrics/dev_report.json").read_text())
    timing = json.loads((folder / "metrics/timing.json").read_text())
    model = json.loads((folder / "dvclive/metrics.json").read_text())
    diff = paired_f1_diff(counts(folder), counts(reference), n_boot=ev.bootstrap, seed=ev.seed)
    return {
        "variant": name,
        "overrides": overrides,
        "steps": model.get("step"),
        **timing,
        "dev_ent_f1": dev["Ent"]["f1-score"],
        "dev_ent_f1_ci": dev["ent_f1_ci"],
        "test_ent_f1": test["ent_f1"],
        "test_ent_f1_ci": [test["ent_f1_lo"], test["ent_f1_hi"]],
        "span_f1": test["span_f1"],
        "lift_over_baseline": test["lift"],
        "lift_ci": [test["lift_lo"], test["lift_hi"]],
        "beats_baseline": test["beats_baseline"],
        "diff_to_first": diff["ent_f1_diff"],
        "diff_to_first_ci": diff["ci"],
    }


def ci(value: float, interval: list[float], sign: str = "") -> str:
    return f"{value:{sign}.4f} [{interval[0]:{sign}.4f}, {interval[1]:{sign}.4f}]"


def table(rows: list[dict]) -> str:
    head = (
        "| variant | overrides | steps | train s | chars/s | dev Ent F1 | test Ent F1 | span F1 "
        f"| lift over baseline | beats baseline | Δ test F1 vs {rows[0]['variant']} |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        over = ", ".join(f"{k}={v}" for k, v in r["overrides"].items()) or "params.yaml"
        lines.append(
            f"| {r['variant']} | {over} | {r['steps']} | {r['train_seconds']:.0f} "
            f"| {r['train_chars_per_s']:,.0f} | {ci(r['dev_ent_f1'], r['dev_ent_f1_ci'])} "
            f"| {ci(r['test_ent_f1'], r['test_ent_f1_ci'])} | {r['span_f1']:.4f} "
            f"| {ci(r['lift_over_baseline'], r['lift_ci'], '+')} | {r['beats_baseline']} "
            f"| {ci(r['diff_to_first'], r['diff_to_first_ci'], '+')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", nargs="+", required=True, help="name:section.key=v,...")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/ablation"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    variants = [parse(v) for v in args.variant]
    for name, overrides in variants:
        run_variant(args.work / name, overrides)
    ev = load_section("evaluate")
    first = args.work / variants[0][0]
    rows = [row(args.work / n, n, o, first, ev) for n, o in variants]
    write_json(args.out / "ablation.json", rows)
    write_text(args.out / "ablation.md", table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
