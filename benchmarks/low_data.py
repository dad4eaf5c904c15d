"""Low-data evidence: the default encoder model against the CRF baseline at 1k, 4k, 16k sentences.

For each size n, a seeded random subset of n sentences of ``data/prepared/train.jsonl``
trains both systems; dev and test are the prepared splits (``--test-sentences`` caps the
test split to its first N sentences). The encoder is trained by enttag's own loop with
params.yaml's ``train``, ``model`` and ``tokenize`` sections except ``epochs``
(``--epochs``), ``max_steps`` (``--max-steps``, a cap: on a small CPU the 16k run is
long) and one dev evaluation at the end; the CRF uses params.yaml's ``baseline`` section
(window, c1, c2, max_iterations). Both are scored at P(Ent) >= 0.5 with 95% sentence-
bootstrap intervals (``evaluate.bootstrap`` resamples, ``evaluate.seed``), and the
encoder's Ent F1 lift over the CRF is a paired bootstrap over the same resampled
sentences. Fit time of both and the CRF's tagging speed are reported too.

    dvc repro tokenize baseline          # data/prepared and models/encoder
    python benchmarks/low_data.py [--sizes 1000 4000 16000] [--epochs 3] [--max-steps N]

Writes ``low_data.json``, ``low_data.md`` (the table) and ``low_data.png`` (test Ent F1
against training sentences) to ``--out`` (default benchmarks/results), after every size,
so an interrupted run keeps what finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from enttag.atomic import write_json, write_text  # noqa: E402
from enttag.baseline.crf import CrfBaseline  # noqa: E402
from enttag.data.prepare import read_prepared, write_prepared  # noqa: E402
from enttag.encode.tokenized import TokenizedCorpus, tokenize_corpus  # noqa: E402
from enttag.labels import LABELS, apply_threshold  # noqa: E402
from enttag.metrics.counts import sentence_counts  # noqa: E402
from enttag.model.inference import predict, resolve_device  # noqa: E402
from enttag.model.network import model_from_checkpoint, read_checkpoint  # noqa: E402
from enttag.params import load_section  # noqa: E402
from enttag.report.bootstrap import paired_f1_diff, summary  # noqa: E402
from enttag.training.loop import train  # noqa: E402


def scores(gold, p_ent, *, n_boot: int, seed: int) -> tuple[dict, np.ndarray]:
    """Ent F1 with its interval, and the per-sentence counts for paired comparisons."""
    pred = apply_threshold(p_ent, 0.5)
    s = summary(gold, pred, n_boot=n_boot, seed=seed)
    keep = {"ent_precision": s["ent_precision"], "ent_recall": s["ent_recall"]}
    return keep | {"ent_f1": s["ent_f1"], "ent_f1_ci": s["ent_f1_ci"]}, sentence_counts(gold, pred)


def run_size(n: int, args, splits, work: Path) -> dict:
    """Train and score both systems on ``n`` training sentences."""
    ev, base = load_section("evaluate"), load_section("baseline")
    train_cfg, model_cfg, tok_cfg = (load_section(s) for s in ("train", "model", "tokenize"))
    subset = random.Random(args.seed).sample(splits["train"], n)
    test = splits["test"]
    gold = [np.array([LABELS.index(t) for t in s.labels]) for s in test]
    row: dict = {"train_sentences": n, "train_characters": sum(len(s.text) for s in subset)}

    crf = CrfBaseline(base.window, base.c1, base.c2, base.max_iterations)
    start = time.perf_counter()
    crf.fit(subset)
    row["crf_fit_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    p_crf = crf.probs([s.text for s in test])[:, 0]
    row["crf_tag_chars_per_s"] = round(len(p_crf) / (time.perf_counter() - start))
    cuts = np.cumsum([len(g) for g in gold])[:-1]
    row["crf"], crf_counts = scores(gold, np.split(p_crf, cuts), n_boot=ev.bootstrap, seed=ev.seed)
    print(f"n={n}: CRF {row['crf']}", flush=True)

    folder = work / f"n{n}"
    write_prepared({"train": subset, "dev": splits["dev"], "test": test}, folder / "prepared", {})
    tokenize_corpus(folder / "prepared", args.encoder, folder / "tokenized", tok_cfg, True)
    steps = args.epochs * -(-len(subset) // train_cfg.batch_size)
    if args.max_steps is not None:
        steps = min(steps, args.max_steps)
    cfg = dataclasses.replace(train_cfg, epochs=args.epochs, max_steps=steps, eval_every=steps)
    start = time.perf_counter()
    fit = train(
        cfg,
        model_cfg,
        tokenized_dir=folder / "tokenized",
        encoder_dir=args.encoder,
        model_path=folder / "model.pkl",
        live_dir=folder / "dvclive",
        timing_path=folder / "timing.json",
        checkpoint_dir=folder / "checkpoints",
    )
    row["encoder_fit_s"] = round(time.perf_counter() - start, 1)
    row["encoder_steps"] = fit["steps"]
    timing = json.loads((folder / "timing.json").read_text())
    row["encoder_train_chars_per_s"] = timing["train_chars_per_s"]
    device = resolve_device("auto")
    model = model_from_checkpoint(read_checkpoint(folder / "model.pkl")).to(device)
    corpus = TokenizedCorpus.load(folder / "tokenized", ("test",))
    p_enc = predict(
        model,
        corpus.splits["test"],
        batch_size=ev.batch_size,
        pad_id=corpus.specials.pad,
        device=device,
    ).p_ent
    row["encoder"], enc_counts = scores(gold, p_enc, n_boot=ev.bootstrap, seed=ev.seed)
    row["encoder_minus_crf"] = paired_f1_diff(
        enc_counts, crf_counts, n_boot=ev.bootstrap, seed=ev.seed
    )
    print(f"n={n}: encoder {row['encoder']}; lift {row['encoder_minus_crf']}", flush=True)
    return row


def ci(x: dict) -> str:
    return f"{x['ent_f1']:.4f} [{x['ent_f1_ci'][0]:.4f}, {x['ent_f1_ci'][1]:.4f}]"


def table(rows: list[dict], setup: dict) -> str:
    lines = [
        f"Test split: {setup['test_sentences']} MSRA test sentences, {setup['test_characters']:,} "
        f"characters. Encoder: params.yaml defaults, {setup['epochs']} epochs"
        + (f", capped at {setup['max_steps']} steps" if setup["max_steps"] else "")
        + f". Command: `{setup['command']}`.",
        "",
        "| train sentences | CRF Ent F1 [95% CI] | encoder Ent F1 [95% CI] "
        "| encoder − CRF (paired) [95% CI] | encoder beats CRF | encoder steps "
        "| fit s (CRF / encoder) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d = r["encoder_minus_crf"]
        lines.append(
            f"| {r['train_sentences']:,} | {ci(r['crf'])} | {ci(r['encoder'])} "
            f"| {d['ent_f1_diff']:+.4f} [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}] | {d['beats']} "
            f"| {r['encoder_steps']} | {r['crf_fit_s']} / {r['encoder_fit_s']} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [r["train_sentences"] for r in rows]
    for key, label in (("encoder", "encoder (e5-small, 6 layers)"), ("crf", "CRF baseline")):
        f1 = np.array([r[key]["ent_f1"] for r in rows])
        lo = f1 - np.array([r[key]["ent_f1_ci"][0] for r in rows])
        hi = np.array([r[key]["ent_f1_ci"][1] for r in rows]) - f1
        ax.errorbar(sizes, f1, yerr=[lo, hi], marker="o", capsize=4, label=label)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("MSRA training sentences")
    ax.set_ylabel("test Ent F1 (95% CI)")
    ax.set_title("Test Ent F1 against training size")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--epochs", type=int, default=3, help="encoder epochs over the subset")
    parser.add_argument("--max-steps", type=int, help="cap on the encoder's optimiser steps")
    parser.add_argument("--test-sentences", type=int, help="first N test sentences only")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training subsets")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--encoder", type=Path, default=Path("models/encoder"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    splits = {s: read_prepared(args.prepared / f"{s}.jsonl") for s in ("train", "dev", "test")}
    splits["test"] = splits["test"][: args.test_sentences]
    setup = {
        "test_sentences": len(splits["test"]),
        "test_characters": sum(len(s.text) for s in splits["test"]),
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "command": "python benchmarks/low_data.py "
        + " ".join(f"--sizes {' '.join(map(str, args.sizes))}".split())
        + f" --epochs {args.epochs}"
        + (f" --max-steps {args.max_steps}" if args.max_steps else "")
        + (f" --test-sentences {args.test_sentences}" if args.test_sentences else ""),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            rows.append(run_size(n, args, splits, Path(tmp)))
            write_json(args.out / "low_data.json", {"setup": setup, "rows": rows})
            write_text(args.out / "low_data.md", table(rows, setup))
            plot(rows, args.out / "low_data.png")
    print(table(rows, setup))


if __name__ == "__main__":
    main()
