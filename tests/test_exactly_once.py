"""Every character scored exactly once: a miss or a double is an EnttagError, in the gold
labels (training, evaluation) and in prediction alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from enttag.data.readers import Sentence
from enttag.encode.charmap import Specials
from enttag.encode.windows import EncodedSplit, encode_sentences, gold_per_sentence, window_bounds
from enttag.errors import EnttagError
from enttag.model.inference import predict

SPECIALS = Specials(cls=2, sep=3, pad=0, unk=1)
MAX_LENGTH, STRIDE = 10, 4  # windows of 8 characters sharing 4


class Echo(nn.Module):
    """A stand-in model: P(Ent) of a token grows with its id, so values are traceable."""

    def forward(self, input_ids, attention_mask):
        x = input_ids.float() / 100
        return torch.stack([x, torch.zeros_like(x)], dim=-1)

    def probs(self, logits, attention_mask):
        p_ent = torch.softmax(logits, dim=-1)[..., 0]
        return torch.stack([p_ent, torch.zeros_like(p_ent)], dim=-1)


def split() -> EncodedSplit:
    texts = ["甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉", "天地"]  # 20 characters: 4 windows
    char_map = {c: 10 + i for i, c in enumerate(dict.fromkeys("".join(texts)))}
    sentences = [
        Sentence(t, tuple("Ent" if i % 3 == 0 else "O" for i in range(len(t)))) for t in texts
    ]
    return encode_sentences(sentences, char_map, SPECIALS, MAX_LENGTH, STRIDE)


def overlap_position(data: EncodedSplit) -> tuple[int, int]:
    """(window 0's flat position of a character that window 1 scores, that character)."""
    (a0, _, s0, e0), (a1, _, s1, e1) = window_bounds(20, MAX_LENGTH - 2, STRIDE)[:2]
    char = s1  # scored by window 1, also inside window 0 (overlap)
    assert s0 <= char - 1 < e0 == s1 and char < a0 + MAX_LENGTH - 2
    return int(data.ptr[0]) + 1 + (char - a0), char


def missed(data: EncodedSplit) -> EncodedSplit:
    """The first character of sentence 0 is scored by no window."""
    data.scored[int(data.ptr[0]) + 1] = False
    return data


def doubled(data: EncodedSplit) -> EncodedSplit:
    """One character of the overlap is scored by both windows 0 and 1."""
    position, _ = overlap_position(data)
    assert not data.scored[position]
    data.scored[position] = True
    return data


def predicted(data: EncodedSplit) -> list[np.ndarray]:
    return predict(
        Echo(), data, batch_size=3, pad_id=SPECIALS.pad, device=torch.device("cpu")
    ).p_ent


def test_a_well_formed_split_scores_every_character_once():
    data = split()
    gold = gold_per_sentence(data)
    assert [len(g) for g in gold] == [20, 2]
    assert gold[0].tolist() == [0 if i % 3 == 0 else 1 for i in range(20)]
    probs = predicted(data)
    ids = [10 + i for i in range(20)]
    np.testing.assert_allclose(
        probs[0],
        torch.softmax(torch.tensor([[i / 100, 0.0] for i in ids]), -1)[:, 0].numpy(),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (missed, "1 characters never scored and 0 scored more than once"),
        (doubled, "0 characters never scored and 1 scored more than once"),
    ],
    ids=["missed", "doubled"],
)
@pytest.mark.parametrize("reader", [gold_per_sentence, predicted], ids=["gold", "predict"])
def test_a_character_missed_or_scored_twice_is_an_error(broken, message, reader):
    with pytest.raises(EnttagError, match=message):
        reader(broken(split()))
