"""The training loop: read it top to bottom.

Encoder + linear head, class-weighted cross-entropy, AdamW with separate
encoder and head learning rates, linear warm-up and decay, gradient clipping,
periodic dev evaluation with early stopping on dev Ent F1. The best dev
checkpoint is the one saved. Wall-clock figures (duration, throughput) go only to
the timing file, so the model file and the step logs are the same bytes on a re-run.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from dvclive import Live
from enttag.atomic import write_json
from enttag.encode.batching import iterate
from enttag.encode.tokenized import TokenizedCorpus
from enttag.encode.windows import IGNORE
from enttag.model.inference import autocast, predict, resolve_device
from enttag.model.network import EntityTagger, load_encoder, prune_embeddings, save_model
from enttag.params import ModelParams, TokenizeParams, TrainParams, as_dict
from enttag.scoring.scores import ent_prf, gold_per_sentence
from enttag.scoring.threshold import best_threshold


@dataclass
class Best:
    """The best dev evaluation so far."""

    step: int = 0
    f1: float = -1.0
    state: dict | None = None
    scores: dict | None = None
    threshold: float | None = None


def param_groups(model: EntityTagger, cfg: TrainParams) -> list[dict]:
    """Encoder and head at their own learning rates; no weight decay on biases and norms."""
    groups = []
    for name, module, lr in (
        ("encoder", model.encoder, cfg.encoder_lr),
        ("head", model.head, cfg.head_lr),
    ):
        params = [p for p in module.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups.append({"name": name, "params": decay, "lr": lr, "weight_decay": cfg.weight_decay})
        groups.append(
            {"name": f"{name}_no_decay", "params": no_decay, "lr": lr, "weight_decay": 0.0}
        )
    return [g for g in groups if g["params"]]


def build_model(
    corpus: TokenizedCorpus, encoder_dir: Path, model_cfg: ModelParams, dropout: float
) -> EntityTagger:
    encoder = load_encoder(encoder_dir, model_cfg.num_layers, dropout)
    if corpus.kept_ids is not None:
        prune_embeddings(encoder, corpus.kept_ids, corpus.specials.pad)
    return EntityTagger(encoder, dropout, model_cfg.head)


def evaluate_dev(
    model, corpus: TokenizedCorpus, gold: list[np.ndarray], weights, device, cfg
) -> dict:
    probs, loss = predict(
        model,
        corpus.splits["dev"],
        batch_size=2 * cfg.batch_size,
        pad_id=corpus.specials.pad,
        device=device,
        precision=cfg.precision,
        class_weights=weights,
    )
    pred = [np.where(p >= 0.5, 0, 1) for p in probs]
    return {"loss": loss, **ent_prf(gold, pred), "probs": probs}


def train(
    cfg: TrainParams,
    model_cfg: ModelParams,
    tok_cfg: TokenizeParams,
    *,
    tokenized_dir: Path,
    encoder_dir: Path,
    model_path: Path,
    live_dir: Path,
    timing_path: Path,
) -> dict:
    """Train; log step metrics to ``live_dir`` (dvclive); save the best model to ``model_path``.

    The duration and throughput go to ``timing_path`` (the one output that changes between
    runs of the same params), never into the model file or the step logs.
    """
    # -- setup: device, seed, data, model, optimiser, schedule -------------------------------
    device = resolve_device(cfg.device)
    set_seed(cfg.seed)
    corpus = TokenizedCorpus.load(tokenized_dir, ("train", "dev"))
    train_data, dev_gold = corpus.splits["train"], gold_per_sentence(corpus.splits["dev"])
    model = build_model(corpus, encoder_dir, model_cfg, cfg.dropout).to(device)
    weights = torch.tensor([cfg.ent_weight, cfg.o_weight], dtype=torch.float32, device=device)
    optimizer = torch.optim.AdamW(param_groups(model, cfg), fused=device.type in ("cpu", "cuda"))
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * total_steps), total_steps
    )

    live = Live(dir=str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None)
    best, evals_without_gain, step, stop = Best(), 0, 0, False
    running, running_n, chars, t0 = 0.0, 0, 0, time.perf_counter()
    progress = tqdm(total=total_steps, desc="train", unit="step", dynamic_ncols=True)

    # -- the loop -------------------------------------------------------------------------
    for epoch in range(cfg.epochs):
        model.train()
        for batch in iterate(
            train_data, cfg.batch_size, corpus.specials.pad, shuffle=True, seed=cfg.seed + epoch
        ):
            input_ids = batch["input_ids"].to(device)
            labels, mask = batch["labels"].to(device), batch["attention_mask"].to(device)
            with autocast(device, cfg.precision):
                logits = model(input_ids, mask)
            total, norm = model.loss_terms(logits.float(), labels, mask, weights)
            loss = total / norm
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1

            loss_value = loss.item()
            running += loss_value
            running_n += 1
            chars += int((labels != IGNORE).sum())
            rate = chars / (time.perf_counter() - t0)
            progress.update()
            progress.set_postfix(loss=f"{loss_value:.4f}", chars_per_s=f"{rate:,.0f}")
            live.step = step
            if step % cfg.log_every == 0:
                live.log_metric("fit/loss", running / running_n)
                live.log_metric("fit/lr_encoder", scheduler.get_last_lr()[0])
                running, running_n = 0.0, 0

            if step % cfg.eval_every == 0 or step == total_steps:
                dev = evaluate_dev(model, corpus, dev_gold, weights, device, cfg)
                for key in ("loss", "ent_precision", "ent_recall", "ent_f1"):
                    live.log_metric(f"dev/{key}", dev[key])
                if dev["ent_f1"] > best.f1:
                    threshold, _ = best_threshold(
                        np.concatenate(dev_gold), np.concatenate(dev["probs"])
                    )
                    scores = {k: v for k, v in dev.items() if k != "probs"}
                    best = Best(
                        step, dev["ent_f1"], copy.deepcopy(model.state_dict()), scores, threshold
                    )
                    evals_without_gain = 0
                else:
                    evals_without_gain += 1
                stop = cfg.patience is not None and evals_without_gain >= cfg.patience
                tqdm.write(
                    f"step {step}: dev loss {dev['loss']:.4f}, Ent F1 {dev['ent_f1']:.4f}"
                    f"{' (best)' if best.step == step else ''}"
                )
                model.train()
                # (checkpoint for resume goes here: model, optimizer, scheduler, step, rng)
            if stop or step >= total_steps:
                break
        if stop or step >= total_steps:
            break
    progress.close()

    # -- the result: the best dev checkpoint ---------------------------------------------------
    model.load_state_dict(best.state)
    summary = {
        "best_step": best.step,
        "steps": step,
        "stopped_early": stop,
        "dev": best.scores,
    }
    seconds = time.perf_counter() - t0
    timing = {"train_seconds": round(seconds, 1), "train_chars_per_s": round(chars / seconds, 1)}
    write_json(timing_path, timing)
    save_model(
        model_path,
        model,
        char_map=corpus.char_map,
        specials=corpus.specials,
        max_length=tok_cfg.max_length,
        stride=tok_cfg.stride,
        extra={
            "threshold": best.threshold,
            "train": summary,
            "params": {
                "model": as_dict(model_cfg),
                "train": as_dict(cfg),
                "tokenize": as_dict(tok_cfg),
            },
        },
    )
    live.end()
    return summary | timing
