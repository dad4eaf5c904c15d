"""Training throughput: enttag's loop against the Hugging Face ``Trainer``, and the CPU's limit.

In one process, on the same machine, data and model (params.yaml's ``model``, ``train``
and ``tokenize`` sections; ``--train-sentences`` prepared training sentences, windows as
the ``tokenize`` stage cuts them), for ``--steps`` optimiser steps each:

- ``enttag``: :func:`enttag.training.loop.train` (bucketed batches, the two AdamW groups,
  linear warm-up/decay, clipping, class-weighted loss), one dev evaluation on 20 dev
  sentences at the end (included in its time).
- ``HF Trainer``: ``transformers.Trainer`` on the same network wrapped to return the same
  weighted loss, the same optimiser groups and schedule (passed in), batch size, clipping,
  ``train_sampling_strategy="group_by_length"`` and padding to the longest window of the
  batch (enttag's own collate); no evaluation, no saving, no logging.

Characters/s count the scored characters of the training windows; the Trainer's time is
its ``train_runtime``. The matmul reference is the best of 10 ``torch.matmul`` of two
2048x2048 fp32 matrices (2·2048³ FLOP each). The loop's GFLOP/s is an estimate of the
useful work: per token 6·N (N = encoder parameters without the embeddings, plus the head)
plus 12·L·T·d for attention (L layers, T mean window length, d hidden size), times tokens
per scored character (specials included, padding not).

    dvc repro tokenize      # data/prepared and models/encoder
    python benchmarks/train_throughput.py [--steps 30] [--train-sentences 2000]

Writes ``train_throughput.json`` and ``train_throughput.md`` to ``--out``
(default benchmarks/results).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup, set_seed

from enttag.atomic import write_json, write_text
from enttag.data.prepare import read_prepared, write_prepared
from enttag.encode.batching import collate
from enttag.encode.tokenized import TokenizedCorpus, tokenize_corpus
from enttag.encode.windows import IGNORE
from enttag.params import load_section
from enttag.training.loop import build_model, param_groups, train


class WithLoss(nn.Module):
    """The tagger returning the project's class-weighted loss, as ``Trainer`` expects."""

    def __init__(self, tagger: nn.Module, weights: torch.Tensor):
        super().__init__()
        self.tagger, self.weights, self.chars = tagger, weights, 0

    def forward(self, input_ids, attention_mask, labels):
        logits = self.tagger(input_ids, attention_mask)
        self.chars += int((labels != IGNORE).sum())
        total, norm = self.tagger.loss_terms(logits.float(), labels, attention_mask, self.weights)
        return {"loss": total / norm}


class Windows(torch.utils.data.Dataset):
    """Window indices with their input ids (for the Trainer's length grouping)."""

    def __init__(self, data):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, w: int) -> dict:
        return {"index": w, "input_ids": self.data.window(w)[0]}


def hf_trainer(corpus, folder: Path, cfg, model_cfg, steps: int) -> dict:
    set_seed(cfg.seed)
    data, pad = corpus.splits["train"], corpus.specials.pad
    weights = torch.tensor([cfg.ent_weight, cfg.o_weight])
    tagger = build_model(corpus, folder / "encoder", model_cfg, cfg.dropout, cfg.freeze_layers)
    model = WithLoss(tagger, weights)
    optimizer = torch.optim.AdamW(param_groups(model.tagger, cfg), fused=True)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * steps), steps)

    def collator(items: list[dict]) -> dict:
        batch = collate(data, [it["index"] for it in items], pad)
        return {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}

    args = TrainingArguments(
        output_dir=str(folder / "hf"),
        max_steps=steps,
        per_device_train_batch_size=cfg.batch_size,
        max_grad_norm=cfg.max_grad_norm,
        train_sampling_strategy="group_by_length",
        remove_unused_columns=False,
        save_strategy="no",
        logging_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=True,
        dataloader_pin_memory=False,
        disable_tqdm=True,
        seed=cfg.seed,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Windows(data),
        data_collator=collator,
        optimizers=(optimizer, scheduler),
    )
    runtime = trainer.train().metrics["train_runtime"]
    return {"chars": model.chars, "seconds": runtime, "chars_per_s": model.chars / runtime}


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops_per_char(corpus, model) -> float:
    """Estimated training FLOPs per scored character (see the module docstring); a frozen
    layer (``train.freeze_layers``) counts its forward pass only (a third)."""
    enc = model.encoder
    params = [p for name, p in enc.named_parameters() if "embeddings" not in name]
    params += list(model.head.parameters())
    n = sum(p.numel() * (1 if p.requires_grad else 1 / 3) for p in params)
    data = corpus.splits["train"]
    lengths = torch.tensor(data.lengths(), dtype=torch.float64)
    tokens_per_char = float(lengths.sum() / data.scored.sum())
    c = enc.config
    layers = c.num_hidden_layers - (2 / 3) * sum(
        not any(p.requires_grad for p in layer.parameters()) for layer in enc.encoder.layer
    )
    per_token = 6 * n + 12 * layers * float(lengths.mean()) * c.hidden_size
    return per_token * tokens_per_char


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--train-sentences", type=int, default=2000)
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    parser.add_argument("--encoder", type=Path, default=Path("models/encoder"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    cfg, model_cfg, tok_cfg = (load_section(s) for s in ("train", "model", "tokenize"))
    cfg = dataclasses.replace(
        cfg, max_steps=args.steps, eval_every=args.steps, log_every=args.steps, device="cpu"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        splits = {s: read_prepared(args.prepared / f"{s}.jsonl") for s in ("train", "dev")}
        splits = {"train": splits["train"][: args.train_sentences], "dev": splits["dev"][:20]}
        write_prepared(splits | {"test": splits["dev"]}, folder / "prepared", {})
        (folder / "encoder").symlink_to(args.encoder.resolve())
        tokenize_corpus(folder / "prepared", folder / "encoder", folder / "tok", tok_cfg, True)
        corpus = TokenizedCorpus.load(folder / "tok", ("train", "dev"))
        start = time.perf_counter()
        train(
            cfg,
            model_cfg,
            tokenized_dir=folder / "tok",
            encoder_dir=folder / "encoder",
            model_path=folder / "model.pkl",
            live_dir=folder / "dvclive",
            timing_path=folder / "timing.json",
            checkpoint_dir=folder / "checkpoints",
        )
        loop = json.loads((folder / "timing.json").read_text())["train_chars_per_s"]
        loop_s = time.perf_counter() - start
        hf = hf_trainer(corpus, folder, cfg, model_cfg, args.steps)
        gflops = matmul_gflops()
        tagger = build_model(corpus, folder / "encoder", model_cfg, 0.0, cfg.freeze_layers)
        per_char = flops_per_char(corpus, tagger)
    result = {
        "steps": args.steps,
        "batch_size": cfg.batch_size,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0],
        "enttag_chars_per_s": loop,
        "enttag_call_s": round(loop_s, 1),
        "hf_trainer_chars_per_s": round(hf["chars_per_s"], 1),
        "hf_trainer_s": round(hf["seconds"], 1),
        "ratio_enttag_over_trainer": round(loop / hf["chars_per_s"], 3),
        "matmul_2048_fp32_gflops": round(gflops, 1),
        "train_gflop_per_char_estimate": round(per_char / 1e9, 4),
        "enttag_gflops_estimate": round(loop * per_char / 1e9, 1),
        "share_of_matmul": round(loop * per_char / 1e9 / gflops, 3),
    }
    write_json(args.out / "train_throughput.json", result)
    text = (
        f"`python benchmarks/train_throughput.py --steps {args.steps} "
        f"--train-sentences {args.train_sentences}`; {result['threads']} torch threads, "
        f"1-min load average {result['loadavg_1min']:.1f} at the end.\n\n"
        "| | characters/s | vs HF Trainer |\n|---|---|---|\n"
        f"| enttag loop | {loop:,.0f} | {result['ratio_enttag_over_trainer']:.2f}× |\n"
        f"| HF `Trainer` | {hf['chars_per_s']:,.0f} | 1.00× |\n\n"
        f"fp32 2048² `torch.matmul`: {gflops:.1f} GFLOP/s; the loop does about "
        f"{result['enttag_gflops_estimate']:.1f} GFLOP/s of useful work "
        f"({per_char / 1e9:.4f} GFLOP per character): {result['share_of_matmul']:.0%} of it.\n"
    )
    write_text(args.out / "train_throughput.md", text)
    print(text)


if __name__ == "__main__":
    main()
