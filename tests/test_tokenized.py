"""The tokenize stage's store: what tokenize_corpus writes, reports and loads back."""

from __future__ import annotations

import json

import pytest
from support.corpus import prepare_tiny
from support.shipped import section

from enttag.data.prepare import read_prepared
from enttag.encode.tokenized import SPLITS, TokenizedCorpus, tokenize_corpus
from enttag.encode.windows import gold_per_sentence, window_bounds
from enttag.errors import InputError
from enttag.labels import LABELS

MAX_LENGTH, STRIDE = 16, 4


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_encoder):
    root = tmp_path_factory.mktemp("tokenized")
    prepared = prepare_tiny(root / "prepared", 6, 3, 3, long_every=3)
    with (prepared / "test.jsonl").open("a", encoding="utf-8") as f:  # two unknown characters
        f.write(json.dumps({"text": "张Ω三Ω", "labels": ["Ent", "O", "Ent", "O"]}) + "\n")
    cfg = section("tokenize", max_length=MAX_LENGTH, stride=STRIDE)
    report = tokenize_corpus(prepared, tiny_encoder, root / "out", cfg, prune_vocab=True)
    return prepared, root / "out", report


def test_report_counts_what_was_written(store):
    prepared, out, report = store
    corpus = TokenizedCorpus.load(out)
    for name in SPLITS:
        sentences = read_prepared(prepared / f"{name}.jsonl")
        data, counts = corpus.splits[name], report[name]
        windows = sum(len(window_bounds(len(s.text), MAX_LENGTH - 2, STRIDE)) for s in sentences)
        assert (counts["sentences"], counts["windows"]) == (len(sentences), windows)
        characters = sum(len(s.text) for s in sentences)
        assert counts["characters"] == counts["scored_positions"] == characters
        assert len(data) == windows and data.n_sentences == len(sentences)
        assert counts["longest_sentence"] == max(len(s.text) for s in sentences)
    assert report["test"]["unknown_characters"] == 2
    assert report["test"]["top_unknown"] == [["Ω", 2]]
    assert report["train"]["unknown_characters"] == 0


def test_windows_decode_back_to_the_sentences_and_their_labels(store):
    prepared, out, _ = store
    corpus = TokenizedCorpus.load(out, ("test",))
    sentences = read_prepared(prepared / "test.jsonl")
    id_to_char = {i: c for c, i in corpus.char_map.items()}
    data = corpus.splits["test"]
    for w in range(len(data)):
        ids, _, _ = data.window(w)
        s, start = int(data.sent[w]), int(data.start[w])
        assert ids[0] == corpus.specials.cls and ids[-1] == corpus.specials.sep
        text = sentences[s].text
        chars = [id_to_char.get(int(i), "?") for i in ids[1:-1]]
        expected = [c if c in corpus.char_map else "?" for c in text[start : start + len(chars)]]
        assert chars == expected
        unknown = [int(i) for i, c in zip(ids[1:-1], text[start:], strict=False) if c == "Ω"]
        assert all(i == corpus.specials.unk for i in unknown)
    gold = gold_per_sentence(data)
    assert [[LABELS[i] for i in g] for g in gold] == [list(s.labels) for s in sentences]


def test_pruned_ids_are_dense_and_kept_rows_name_the_original_ones(store, tiny_encoder):
    from transformers import AutoTokenizer

    _, out, report = store
    corpus = TokenizedCorpus.load(out, ("train",))
    vocab = AutoTokenizer.from_pretrained(tiny_encoder).get_vocab()
    kept = corpus.kept_ids
    assert len(kept) == report["vocab"]["kept"] < report["vocab"]["tokenizer_size"]
    used = set(corpus.char_map.values()) | set(vars(corpus.specials).values())
    assert used == set(range(len(kept)))  # every new id is used, nothing beyond
    for char, new_id in corpus.char_map.items():
        assert kept[new_id] == vocab[char]  # the kept row is the character's original row


def test_a_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="vocab.json: file not found"):
        TokenizedCorpus.load(tmp_path)
