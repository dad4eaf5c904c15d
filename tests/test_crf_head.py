"""The CRF output layer (``model.head: crf``): forward-backward against brute force, and
the tagger with it trained, saved and reloaded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from support.models import small_split

from enttag.encode.windows import IGNORE
from enttag.labels import TAG_B, TAG_I, TAG_O
from enttag.model.crf import LinearChainCRF
from enttag.model.inference import predict
from enttag.model.network import (
    EntityTagger,
    class_weights,
    load_encoder,
    model_from_checkpoint,
    read_checkpoint,
    save_model,
)


@pytest.fixture
def crf() -> LinearChainCRF:
    torch.manual_seed(0)
    layer = LinearChainCRF(2)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_()
    return layer


def brute_force(crf, emissions, length):
    """log Z and per-position marginals of one sequence by enumerating every tag path."""
    scores, paths = [], list(itertools.product(range(2), repeat=length))
    for path in paths:
        s = (
            crf.start[path[0]]
            + crf.end[path[-1]]
            + sum(emissions[t, path[t]] for t in range(length))
        )
        s = s + sum(crf.transitions[path[t - 1], path[t]] for t in range(1, length))
        scores.append(s)
    scores = torch.stack(scores)
    log_z = torch.logsumexp(scores, 0)
    probs = (scores - log_z).exp()
    marg = torch.zeros(length, 2)
    for p, path in zip(probs, paths, strict=True):
        for t, tag in enumerate(path):
            marg[t, tag] += p
    return log_z, marg, {path: float(s) for path, s in zip(paths, scores, strict=True)}


def test_forward_backward_matches_enumeration_on_masked_rows(crf):
    emissions = torch.randn(2, 5, 2)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    tags = torch.tensor([[0, 1, 1, 0, 1], [1, 0, 0, 1, 1]])
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask.bool())
        marginals = crf.marginals(emissions, mask)
        nll = crf.nll(emissions, tags, mask)
        expected_nll = 0.0
        for row, length in enumerate((5, 3)):
            z, marg, score = brute_force(crf, emissions[row], length)
            assert log_z[row] == pytest.approx(float(z), abs=1e-5)
            torch.testing.assert_close(marginals[row, :length], marg, atol=1e-5, rtol=0)
            expected_nll += float(z) - score[tuple(tags[row, :length].tolist())]
    assert float(nll) == pytest.approx(expected_nll, abs=1e-4)


@pytest.mark.parametrize("scheme", ["io", "bio"])
def test_crf_head_learns_saves_and_reloads(tiny_encoder, tmp_path, scheme):
    texts = ["张三在北京大学工作。", "王" * 40, "李"]
    char_map, specials, data = small_split(tiny_encoder, texts)
    torch.manual_seed(0)
    model = EntityTagger(load_encoder(tiny_encoder, None, 0.0), head="crf", tags=scheme)
    batch_ids = torch.tensor([[specials.cls, *[char_map[c] for c in "张三在北京"], specials.sep]])
    tags = torch.tensor([[IGNORE, TAG_B, TAG_I, TAG_O, TAG_B, TAG_I, IGNORE]])
    mask = torch.ones_like(batch_ids)
    weights = class_weights(scheme, 1.0, 1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        total, norm = model.loss_terms(model(batch_ids, mask), tags, mask, weights)
        (total / norm).backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(total.detach() / norm))
    assert losses[-1] < 0.5 * losses[0]
    assert model.crf.transitions.abs().sum() > 0  # the transitions are trained
    p = model.eval().probs(model(batch_ids, mask), mask)[0, 1:-1]
    assert ((p[:, 0] >= 0.5) == torch.tensor([True, True, False, True, True])).all()
    if scheme == "bio":  # the two entities stay apart: 张三 and 北京 (P(B | Ent) of Ent ones)
        assert ((p[[0, 1, 3, 4], 1] > 0.5) == torch.tensor([True, False, True, False])).all()

    cpu = torch.device("cpu")
    before = predict(model, data, batch_size=2, pad_id=specials.pad, device=cpu)
    path = tmp_path / "crf.pkl"
    save_model(
        path,
        model,
        char_map=char_map,
        specials=specials,
        max_length=16,
        stride=4,
        extra={"params": {"model": {"head": "crf"}}},
    )
    rebuilt = model_from_checkpoint(read_checkpoint(path))
    assert rebuilt.crf is not None
    assert rebuilt.tags == scheme
    after = predict(rebuilt, data, batch_size=3, pad_id=specials.pad, device=cpu)
    pairs = zip(before.p_ent + before.p_begin, after.p_ent + after.p_begin, strict=True)
    for a, b in pairs:  # other batches, other padding: float noise
        np.testing.assert_allclose(a, b, atol=1e-5)
