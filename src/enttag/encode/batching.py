"""Length-bucketed batches with dynamic padding.

Windows of similar length share a batch, so little compute goes to padding;
buckets are shuffled so that each epoch sees a different order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch

from enttag.encode.windows import IGNORE, EncodedSplit


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, *, shuffle: bool, seed: int = 0, pool: int = 50
) -> list[list[int]]:
    """Split indices into batches of similar length; every index appears exactly once.

    With ``shuffle``, indices are shuffled, sorted by length inside pools of
    ``pool * batch_size``, cut into batches, and the batches shuffled. Without
    it, batches follow the global length order (best for inference).
    """
    order = list(range(len(lengths)))
    if not shuffle:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = random.Random(seed)
    rng.shuffle(order)
    size = pool * batch_size
    batches = []
    for p in range(0, len(order), size):
        chunk = sorted(order[p : p + size], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(data: EncodedSplit, indices: Sequence[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad the windows ``indices`` to their longest one."""
    windows = [data.window(w) for w in indices]
    width = max(len(ids) for ids, _, _ in windows)
    n = len(windows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    tags = torch.full((n, width), IGNORE, dtype=torch.long)
    scored = torch.zeros((n, width), dtype=torch.bool)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, (ids, window_tags, sc) in enumerate(windows):
        k = len(ids)
        input_ids[row, :k] = ids
        tags[row, :k] = window_tags
        scored[row, :k] = sc
        mask[row, :k] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "tags": tags,
        "scored": scored,
        "index": torch.tensor(list(indices)),
    }


def iterate(
    data: EncodedSplit, batch_size: int, pad_id: int, *, shuffle: bool, seed: int = 0
) -> Iterator[dict[str, torch.Tensor]]:
    """Yield padded batches over ``data``."""
    for batch in bucketed_batches(data.lengths(), batch_size, shuffle=shuffle, seed=seed):
        yield collate(data, batch, pad_id)
