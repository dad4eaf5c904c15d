"""The tiny random BERT, a tiny model file on it, a window split of a few texts, and the
sample texts the tagging tests share."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizer

from enttag.data.readers import Sentence
from enttag.encode.charmap import build_char_map, specials_of
from enttag.encode.windows import encode_sentences
from enttag.model.network import EntityTagger, load_encoder, save_model

from .corpus import FILLER, GIVEN, ORGS, PLACES, PUNCT, SURNAMES

TEXT = "张三在北京大学工作。"
LONG = "王伟在上海的中国银行工作，Ω李娜去了深圳和杭州。€" * 3  # > max_length, two unknown chars


def build_tiny_encoder(folder: Path) -> Path:
    """A 2-layer random BERT whose WordPiece vocabulary holds single Chinese characters."""
    chars = sorted(set(SURNAMES + GIVEN + "".join(PLACES) + "".join(ORGS) + FILLER + PUNCT))
    chars += list("abcdefghijklmnopqrstuvwxyz0123456789")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)})
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    return folder


def save_tiny_model(encoder: Path, path: Path, threshold: float | None, tags: str = "io") -> Path:
    """A model file on ``encoder`` with fixed random weights (windows of 16, stride 4) and
    an Ent/O (``io``) or B/I/O (``bio``) head."""
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    torch.manual_seed(0)
    model = EntityTagger(load_encoder(encoder, None, 0.0), tags=tags)
    with torch.no_grad():  # the same weights in every session (the encoder's are unseeded)
        for weight in model.parameters():
            if weight.dim() > 1:
                weight.normal_(0.0, 0.1)
    chars = "".join(piece for piece in tokenizer.get_vocab() if len(piece) == 1)
    save_model(
        path,
        model,
        char_map=build_char_map(chars, tokenizer),
        specials=specials_of(tokenizer),
        max_length=16,
        stride=4,
        extra={"threshold": threshold},
    )
    return path


def small_split(encoder: Path, texts: list[str]):
    """``texts`` (all O) as windows of 16, stride 4: the char map, specials and windows."""
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    char_map = build_char_map("".join(texts), tokenizer)
    sentences = [Sentence(t, ("O",) * len(t)) for t in texts]
    specials = specials_of(tokenizer)
    return char_map, specials, encode_sentences(sentences, char_map, specials, 16, 4)
