import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from enttag.data.readers import Sentence
from enttag.encode.charmap import Specials, build_char_map, prune, specials_of
from enttag.encode.windows import (
    IGNORE,
    char_positions,
    encode_sentences,
    gold_per_sentence,
    gold_tags_per_sentence,
    window_bounds,
)
from enttag.labels import TAGS


@pytest.mark.parametrize("n", [0, 1, 5, 30, 31, 62, 100, 257])
@pytest.mark.parametrize(("width", "stride"), [(30, 0), (30, 8), (30, 27), (6, 3)])
def test_windows_score_every_character_exactly_once(n, width, stride):
    bounds = window_bounds(n, width, stride)
    scored = np.zeros(n, dtype=int)
    for start, end, score_start, score_end in bounds:
        assert 0 <= start < end <= n or n == 0
        assert end - start <= width
        assert start <= score_start <= score_end <= end
        scored[score_start:score_end] += 1
    assert (scored == 1).all()


def test_long_windows_overlap_by_stride():
    bounds = window_bounds(100, 30, 10)
    assert len(bounds) > 1
    for (_, end, _, _), (start, *_) in zip(bounds, bounds[1:], strict=False):
        assert end - start >= 10


def test_char_map_uses_the_vocab_and_normalisation(tiny_encoder):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    vocab = tokenizer.get_vocab()
    mapping = build_char_map("张北Ａ，\u3000🙂", tokenizer)
    assert mapping["张"] == vocab["张"]
    assert mapping["Ａ"] == vocab["a"]  # NFKC + lower-casing of the BERT normaliser
    assert mapping["，"] == vocab["，"]
    assert "\u3000" not in mapping and "🙂" not in mapping  # no piece: unknown


def test_sentencepiece_style_word_start_pieces_are_found():
    from enttag.encode.charmap import char_token_id

    vocab = {"<unk>": 0, "▁中": 5, ",": 6, "▁": 7}
    assert char_token_id("中", vocab, lambda s: s) == 5
    assert char_token_id("，", vocab, lambda s: s) == 6  # NFKC fallback
    assert char_token_id("\u3000", vocab, lambda s: s) == 7


def test_prune_reindexes_to_kept_rows():
    kept, mapping, specials = prune({"a": 50, "b": 7}, Specials(cls=2, sep=3, pad=0, unk=1))
    assert kept == [0, 1, 2, 3, 7, 50]
    assert mapping == {"a": 5, "b": 4}
    assert specials == Specials(cls=2, sep=3, pad=0, unk=1)


def test_encoded_split_aligns_labels_and_scores_each_char_once(tiny_encoder):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    specials = specials_of(tokenizer)
    texts = ["张三在北京", "北" * 45, "王"]
    sentences = [Sentence(t, tuple("Ent" if c in "张三北" else "O" for c in t)) for t in texts]
    char_map = build_char_map("".join(texts), tokenizer)
    data = encode_sentences(sentences, char_map, specials, max_length=16, stride=4)
    assert len(data) > len(texts)  # the long sentence was windowed
    assert data.n_sentences == 3
    assert all(n <= 16 for n in data.lengths())
    for w in range(len(data)):
        ids, tags, scored = data.window(w)
        assert ids[0] == specials.cls and ids[-1] == specials.sep
        assert tags[0] == IGNORE and tags[-1] == IGNORE and not scored[0] and not scored[-1]
    offsets, _ = char_positions(data)
    assert list(np.diff(offsets)) == [len(t) for t in texts]
    gold, gold_tags = gold_per_sentence(data), gold_tags_per_sentence(data)
    for sentence, g, t in zip(sentences, gold, gold_tags, strict=True):
        assert g.tolist() == [0 if t == "Ent" else 1 for t in sentence.labels]
        assert t.tolist() == [TAGS.index(x) for x in sentence.tags]
    assert data.tags.dtype == torch.int8
