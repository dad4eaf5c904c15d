"""The fusion ablation and the cost of fusion at tagging time, on a reproduced repo.

Ablation: the encoder alone, the CRF alone and each fusion rule with its weight and
P(Ent) cut chosen on dev (as the fuse stage does), scored on dev and test: Ent F1 with
its sentence-bootstrap interval, the paired lift over the CRF on the same resampled
sentences, and exact-match span F1. With ``--stacking``, the stacked tagger of
``benchmarks/stacking.py`` (trained here: out-of-fold CRF fits, then the train stage's
run) joins the table, and its paired difference with log-odds fusion is printed.
Speed: ``Tagger.load(models/tagger.pkl)`` (the shipped, fused tagger) against
``Tagger.load(models/model.pkl)`` (the encoder alone) on the same test texts, passes
taking turns; characters/s and their ratio.

    python benchmarks/fusion.py                 # in a repo after dvc repro
    python benchmarks/fusion.py --repo /path/to/repo --n 1000 --repeats 3
    python benchmarks/fusion.py --stacking --folds 3   # adds the stacking row (~train time)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from stacking import Stacked, train_stacked  # benchmarks/stacking.py, beside this script

from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import gold_per_sentence
from enttag.fusion import choose, weight_grid
from enttag.labels import ARGMAX, apply_threshold
from enttag.metrics.counts import sentence_counts
from enttag.model.inference import predict
from enttag.model.network import model_from_checkpoint, read_checkpoint
from enttag.params import load_section
from enttag.report.bootstrap import paired_f1_diff, summary
from enttag.report.spans import span_scores
from enttag.tagging.tagger import Tagger


def ablation(repo: Path, n_boot: int, stacked: Stacked | None = None) -> list[dict]:
    """One row per system: dev and test Ent F1, CI, lift over the CRF, span F1; with
    ``stacked``, each row's paired difference with log-odds fusion too."""
    model = model_from_checkpoint(read_checkpoint(repo / "models/model.pkl"))
    corpus = TokenizedCorpus.load(repo / "data/tokenized", ("dev", "test"))
    baseline = np.load(repo / "data/baseline/p_ent.npz")
    gold, enc, crf = {}, {}, {}
    for split in ("dev", "test"):
        data = corpus.splits[split]
        gold[split] = gold_per_sentence(data)
        enc[split] = predict(
            model, data, batch_size=64, pad_id=corpus.specials.pad, device=torch.device("cpu")
        ).p_ent
        crf[split] = np.split(baseline[split], np.cumsum([len(g) for g in gold[split]])[:-1])
    step = load_section("fuse", repo / "params.yaml").weight_step
    splits = ("dev", "test")
    systems = {
        "encoder alone": {s: apply_threshold(enc[s], ARGMAX) for s in splits},
        "CRF alone": {s: apply_threshold(crf[s], ARGMAX) for s in splits},
    }
    for rule in ("linear", "logodds"):
        fusion, _ = choose(
            gold["dev"],
            np.concatenate(enc["dev"]),
            np.concatenate(crf["dev"]),
            (rule,),
            weight_grid(step),
        )
        mixed = {s: [fusion.mix(e, c) for e, c in zip(enc[s], crf[s], strict=True)] for s in splits}
        name = f"{rule} fusion (w={fusion.weight:g}, cut {fusion.threshold:.3f})"
        systems[name] = {s: apply_threshold(mixed[s], fusion.threshold) for s in splits}
    logodds = systems[name]
    if stacked is not None:
        name = f"stacking (cut {stacked.threshold:.3f})"
        systems[name] = {s: apply_threshold(stacked.p_ent[s], stacked.threshold) for s in splits}
    rows = []
    for name, preds in systems.items():
        row = {"system": name}
        for split, pred in preds.items():
            base = systems["CRF alone"][split]
            stats = summary(gold[split], pred, n_boot=n_boot, seed=0, baseline_seqs=base)
            row[split] = {
                "ent_f1": stats["ent_f1"],
                "ci": stats["ent_f1_ci"],
                "lift": stats["baseline_lift"]["ent_f1_diff"],
                "lift_ci": stats["baseline_lift"]["ci"],
                "span_f1": span_scores(gold[split], pred)["f1"],
            }
            if stacked is not None:
                counts = [sentence_counts(gold[split], p) for p in (pred, logodds[split])]
                row[split]["vs_logodds"] = paired_f1_diff(*counts, n_boot=n_boot, seed=0)
        rows.append(row)
    return rows


def speed(repo: Path, n: int, repeats: int) -> dict[str, float]:
    """Characters/s of the fused tagger and of the encoder alone, best of ``repeats``."""
    texts = [s.text for s in read_prepared(repo / "data/prepared/test.jsonl")][:n]
    chars = sum(map(len, texts))
    taggers = {
        "fused": Tagger.load(repo / "models/tagger.pkl", device="cpu"),
        "encoder": Tagger.load(repo / "models/model.pkl", device="cpu"),
    }
    best = dict.fromkeys(taggers, float("inf"))
    for _ in range(repeats):
        for name, tagger in taggers.items():  # turns: a change in load hits both
            start = time.perf_counter()
            tagger.tag(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    rates = {name: chars / seconds for name, seconds in best.items()}
    return rates | {"ratio": rates["fused"] / rates["encoder"], "chars": chars}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--n", type=int, default=1000, help="test texts for the speed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stacking", action="store_true", help="train and add the stacked row")
    parser.add_argument("--folds", type=int, default=3, help="out-of-fold CRF fits (--stacking)")
    parser.add_argument("--jobs", type=int, default=2, help="CRF folds fitted at once")
    args = parser.parse_args()
    stacked = train_stacked(args.repo, args.folds, args.jobs) if args.stacking else None
    rows = ablation(args.repo, args.bootstrap, stacked)
    print("| system | dev Ent F1 | test Ent F1 [95% CI] | lift over the CRF (test) | span F1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        dev, test = row["dev"], row["test"]
        print(
            f"| {row['system']} | {dev['ent_f1']:.4f} | {test['ent_f1']:.4f} "
            f"[{test['ci'][0]:.4f}, {test['ci'][1]:.4f}] | {test['lift']:+.4f} "
            f"[{test['lift_ci'][0]:+.4f}, {test['lift_ci'][1]:+.4f}] | {test['span_f1']:.4f} |"
        )
    if stacked is not None:
        print(
            f"\nstacking: out-of-fold CRF fits {stacked.fold_seconds:.0f} s ({args.folds} folds, "
            f"{args.jobs} at once), training {stacked.train_seconds:.0f} s"
        )
        for row in rows:
            diffs = [row[s]["vs_logodds"] for s in ("dev", "test")]
            print(
                f"{row['system']} - log-odds fusion: "
                + ", ".join(
                    f"{s} {d['ent_f1_diff']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]"
                    for s, d in zip(("dev", "test"), diffs, strict=True)
                )
            )
    rates = speed(args.repo, args.n, args.repeats)
    print(
        f"\ntagging {rates['chars']:,} test characters: fused {rates['fused']:,.0f} chars/s, "
        f"encoder alone {rates['encoder']:,.0f} chars/s, ratio {rates['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
