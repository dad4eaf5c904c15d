import random

import pytest

from enttag.encode.batching import bucketed_batches


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 1000])
def test_every_example_exactly_once_per_epoch(n, shuffle):
    lengths = [random.Random(i).randint(3, 128) for i in range(n)]
    batches = bucketed_batches(lengths, 32, shuffle=shuffle, seed=1)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(n))
    assert all(0 < len(b) <= 32 for b in batches)


def test_batches_group_similar_lengths_and_epochs_differ():
    lengths = [random.Random(i).randint(3, 128) for i in range(3200)]
    batches = bucketed_batches(lengths, 32, shuffle=True, seed=0)
    padded = sum(32 * max(lengths[i] for i in b) for b in batches)
    naive = sum(32 * max(lengths[i] for i in range(k, k + 32)) for k in range(0, 3200, 32))
    assert padded < 0.6 * naive  # dynamic padding of buckets wastes far less than random batches
    assert batches != bucketed_batches(lengths, 32, shuffle=True, seed=1)
    assert batches == bucketed_batches(lengths, 32, shuffle=True, seed=0)
