"""The default's spread over training seeds, and its lift over the CRF pooled over them.

Reads finished runs (each a folder holding the evaluate stage's ``metrics/``) that differ
only in ``train.seed``, and one repo's CRF P(Ent) and gold (``data/baseline``,
``data/tokenized``; the CRF does not depend on the seed). Prints each seed's test Ent F1
(shipped, encoder alone) and paired lift over the CRF, their mean and min–max, and the
seed-pooled lift: a hierarchical bootstrap (the seeds resampled, then the same test
sentences for every run; :func:`enttag.report.bootstrap.pooled_f1_diff`).

    python benchmarks/seed_spread.py --repo . --runs run-s0 run-s1 run-s2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import gold_per_sentence
from enttag.labels import ARGMAX, apply_threshold
from enttag.metrics.counts import sentence_counts
from enttag.report.bootstrap import pooled_f1_diff


def crf_counts(repo: Path) -> np.ndarray:
    """The CRF's [tp, fn, fp, tn] per test sentence, at the argmax."""
    gold = gold_per_sentence(
        TokenizedCorpus.load(repo / "data/tokenized", ("test",)).splits["test"]
    )
    p_ent = np.load(repo / "data/baseline/p_ent.npz")["test"]
    per_sentence = np.split(p_ent, np.cumsum([len(g) for g in gold])[:-1])
    return sentence_counts(gold, apply_threshold(per_sentence, ARGMAX))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    rows, counts = [], []
    for run in args.runs:
        test = json.loads((run / "metrics/test.json").read_text(encoding="utf-8"))
        lines = (run / "metrics/test_counts.jsonl").read_text(encoding="utf-8").splitlines()
        counts.append(np.array([json.loads(line) for line in lines]))
        rows.append(test)
    print("| run | shipped Ent F1 [95% CI] | encoder alone | shipped − CRF [95% CI] |")
    print("|---|---|---|---|")
    for run, t in zip(args.runs, rows, strict=True):
        print(
            f"| {run.name} | {t['ent_f1']:.4f} [{t['ent_f1_lo']:.4f}, {t['ent_f1_hi']:.4f}] | "
            f"{t.get('encoder_ent_f1', t['ent_f1']):.4f} | {t['lift']:+.4f} "
            f"[{t['lift_lo']:+.4f}, {t['lift_hi']:+.4f}] |"
        )
    for key, name in (("ent_f1", "shipped"), ("encoder_ent_f1", "encoder alone")):
        values = [t.get(key, t["ent_f1"]) for t in rows]
        print(
            f"{name}: mean {np.mean(values):.4f} (min–max {min(values):.4f}–{max(values):.4f}, "
            f"n={len(values)})"
        )
    pooled = pooled_f1_diff(counts, [crf_counts(args.repo)], n_boot=args.bootstrap, seed=0)
    lo, hi = pooled["ci"]
    print(
        f"seed-pooled lift over the CRF: {pooled['ent_f1_diff']:+.4f} [{lo:+.4f}, {hi:+.4f}] "
        f"({len(counts)} seeds vs the CRF): beats the CRF: {pooled['beats']}"
    )


if __name__ == "__main__":
    main()
