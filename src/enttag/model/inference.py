"""Devices, precision, and batched prediction over encoded windows."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from enttag.encode.batching import iterate
from enttag.encode.windows import IGNORE, CharSheet, EncodedSplit
from enttag.errors import EnttagError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; on CPU, use every core this process may run on.
    A CUDA device this machine lacks is an EnttagError (checked here, when a stage runs
    the model, not when params are read: other stages never import torch)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= count:
        have = f"{count} CUDA device(s)" if count else "no CUDA device"
        raise EnttagError(f"train.device is {name!r} but this machine has {have}; use auto or cpu")
    if device.type == "cpu":
        torch.set_num_threads(
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    return device


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """bf16 autocast when asked for (CPU and CUDA), else a no-op context."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


class Predicted(NamedTuple):
    """What :func:`predict` gives: per sentence, P(Ent) and P(B | Ent) of every character
    (float32 arrays, see ``labels``); and the loss, when asked for."""

    p_ent: list[np.ndarray]
    p_begin: list[np.ndarray]
    loss: float | None


@torch.no_grad()
def predict(
    model: nn.Module,
    data: EncodedSplit,
    *,
    batch_size: int,
    pad_id: int,
    device: torch.device,
    precision: str = "fp32",
    class_weights: torch.Tensor | None = None,
) -> Predicted:
    """P(Ent) and P(B | Ent) of every character of every sentence, each scored exactly
    once; with ``class_weights``, the weighted loss over labelled positions (as the
    training loss)."""
    model.eval()
    sheet = CharSheet(data, channels=2)
    loss_sum, loss_n = 0.0, 0
    for batch in iterate(data, batch_size, pad_id, shuffle=False):
        mask = batch["attention_mask"].to(device)
        with autocast(device, precision):
            logits = model(batch["input_ids"].to(device), mask)
        logits = logits.float()
        if class_weights is not None:
            total, norm = model.loss_terms(logits, batch["tags"].to(device), mask, class_weights)
            loss_sum += float(total)
            loss_n += float(norm)
        probs = model.probs(logits, mask).cpu().numpy()
        for row, w in enumerate(batch["index"].tolist()):
            sheet.put(w, probs[row])
    both = sheet.per_sentence()
    loss = loss_sum / loss_n if class_weights is not None and loss_n else None
    return Predicted([p[:, 0] for p in both], [p[:, 1] for p in both], loss)


def weighted_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Class-weighted cross-entropy; ``IGNORE`` positions (specials, padding) never count."""
    return nn.functional.cross_entropy(
        logits, labels, weight=weights.to(logits.device), ignore_index=IGNORE, reduction=reduction
    )
