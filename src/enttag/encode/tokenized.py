"""The tokenize stage's output: encoded windows per split plus the vocabulary map."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoTokenizer

from enttag.atomic import atomic_dir
from enttag.data.prepare import read_prepared
from enttag.data.readers import Sentence
from enttag.encode.charmap import Specials, build_char_map, prune, specials_of
from enttag.encode.windows import EncodedSplit, encode_sentences
from enttag.errors import EnttagError, InputError
from enttag.labels import TAGS
from enttag.params import TokenizeParams

SPLITS = ("train", "dev", "test")
VOCAB_KEYS = ("char_to_id", "specials", "kept_ids", "max_length", "stride", "tags")


@dataclass
class TokenizedCorpus:
    """Encoded splits, the character->id map, the special ids, (if pruned) the kept rows,
    and the window settings they were cut with (``vocab.json`` records them all, and the
    names of the tag ids the windows hold: ``labels.TAGS``)."""

    char_map: dict[str, int]
    specials: Specials
    kept_ids: list[int] | None
    max_length: int
    stride: int
    splits: dict[str, EncodedSplit]

    @classmethod
    def load(cls, folder: Path, splits: tuple[str, ...] = SPLITS) -> TokenizedCorpus:
        vocab_path = Path(folder) / "vocab.json"
        if not vocab_path.is_file():
            raise InputError(vocab_path, "file not found (run the tokenize stage first)")
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
        missing = [k for k in VOCAB_KEYS if k not in vocab]
        if missing:
            raise InputError(
                vocab_path, f"no {', '.join(missing)}: an older store; run the tokenize stage"
            )
        encoded = {
            name: EncodedSplit.from_dict(torch.load(Path(folder) / f"{name}.pt", weights_only=True))
            for name in splits
        }
        return cls(
            vocab["char_to_id"],
            Specials(**vocab["specials"]),
            vocab["kept_ids"],
            vocab["max_length"],
            vocab["stride"],
            encoded,
        )


def tokenize_corpus(
    prepared_dir: Path, encoder_dir: Path, out_dir: Path, cfg: TokenizeParams, prune_vocab: bool
) -> dict:
    """Encode every prepared split with the encoder's tokenizer; return the report."""
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    sentences = {name: read_prepared(Path(prepared_dir) / f"{name}.jsonl") for name in SPLITS}
    chars = {c for split in sentences.values() for s in split for c in s.text}
    char_map, specials = build_char_map(chars, tokenizer), specials_of(tokenizer)
    kept = None
    if prune_vocab:
        kept, char_map, specials = prune(char_map, specials)
    encoded = {
        name: encode_sentences(split, char_map, specials, cfg.max_length, cfg.stride)
        for name, split in sentences.items()
    }
    report = {
        "vocab": {
            "tokenizer_size": len(tokenizer),
            "kept": len(kept) if kept else None,
            "corpus_characters": len(chars),
            "mapped_characters": len(char_map),
        },
        **{name: split_report(sentences[name], encoded[name], char_map) for name in SPLITS},
    }
    with atomic_dir(out_dir) as tmp:
        (tmp / "vocab.json").write_text(
            json.dumps(
                {
                    "char_to_id": char_map,
                    "specials": vars(specials),
                    "kept_ids": kept,
                    "max_length": cfg.max_length,
                    "stride": cfg.stride,
                    "tags": list(TAGS),
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        for name, data in encoded.items():
            torch.save(data.to_dict(), tmp / f"{name}.pt")
    return report


def split_report(sentences: list[Sentence], data: EncodedSplit, char_map: dict[str, int]) -> dict:
    """Unknown-character rate, windows and the longest sentence of one split."""
    unknown = Counter(c for s in sentences for c in s.text if c not in char_map)
    characters = sum(len(s.text) for s in sentences)
    n_unknown = sum(unknown.values())
    return {
        "sentences": len(sentences),
        "characters": characters,
        "windows": len(data),
        "scored_positions": int(data.scored.sum()),
        "longest_sentence": max((len(s.text) for s in sentences), default=0),
        "unknown_characters": n_unknown,
        "unknown_rate": round(n_unknown / characters, 6) if characters else 0.0,
        "top_unknown": [[c, n] for c, n in unknown.most_common(10)],
    }


def positions_of(config) -> int:
    """How many tokens a window of an encoder with this config may hold."""
    positions = config.max_position_embeddings
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):  # ids start after padding
        positions -= config.pad_token_id + 1
    return positions


def check_positions(encoder_dir: Path, max_length: int) -> None:
    """Refuse windows longer than the encoder's position embeddings."""
    positions = positions_of(AutoConfig.from_pretrained(str(encoder_dir)))
    if max_length > positions:
        raise EnttagError(
            f"tokenize.max_length is {max_length} but the encoder in {encoder_dir} has "
            f"{positions} positions; use at most {positions}"
        )
