"""Characters to token ids: one vocabulary id per character, and vocabulary pruning.

Every character maps to exactly one token id, so labels align 1:1 with
characters for WordPiece and SentencePiece vocabularies alike.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from enttag.errors import EnttagError

WORD_START = ("▁", "Ġ")  # SentencePiece and byte-level BPE word-start markers


@dataclass(frozen=True)
class Specials:
    """The special token ids an encoded window needs."""

    cls: int
    sep: int
    pad: int
    unk: int


def specials_of(tokenizer) -> Specials:
    """Read ``[CLS]``/``<s>``, ``[SEP]``/``</s>``, pad and unk ids from a HF tokenizer."""
    ids = {
        "cls": tokenizer.cls_token_id
        if tokenizer.cls_token_id is not None
        else tokenizer.bos_token_id,
        "sep": tokenizer.sep_token_id
        if tokenizer.sep_token_id is not None
        else tokenizer.eos_token_id,
        "pad": tokenizer.pad_token_id,
        "unk": tokenizer.unk_token_id,
    }
    missing = [k for k, v in ids.items() if v is None]
    if missing:
        where = getattr(tokenizer, "name_or_path", "") or "the encoder's tokenizer"
        raise EnttagError(
            f"{where}: the tokenizer has no {', '.join(missing)} token; enttag needs "
            "begin, end, padding and unknown tokens (set them in its tokenizer_config.json)"
        )
    return Specials(**ids)


def char_token_id(char: str, vocab: dict[str, int], normalize) -> int | None:
    """The one vocabulary id for ``char``, or None.

    Tries the character and its word-start form (``▁中``), then the same for the
    tokenizer's own normalisation of it (BERT lower-cases), its NFKC form
    (SentencePiece vocabularies store NFKC forms: ``，`` is ``,``) and the
    normalised NFKC form.
    """
    forms = []
    for base in (char, unicodedata.normalize("NFKC", char)):
        for form in (base, normalize(base).strip()):
            if form and form not in forms:
                forms.append(form)
    for form in forms:
        for candidate in (form, *(m + form for m in WORD_START)):
            if candidate in vocab:
                return vocab[candidate]
    if char.isspace():
        for marker in WORD_START:
            if marker in vocab:
                return vocab[marker]
    return None


def build_char_map(chars: Iterable[str], tokenizer) -> dict[str, int]:
    """Map each character to one vocabulary id of ``tokenizer``; those with none are left out."""
    vocab = tokenizer.get_vocab()
    normalizer = getattr(tokenizer, "backend_tokenizer", None)
    normalizer = normalizer.normalizer if normalizer is not None else None

    def normalize(text: str) -> str:
        return normalizer.normalize_str(text) if normalizer is not None else text

    mapping = {}
    for char in sorted(set(chars)):
        token = char_token_id(char, vocab, normalize)
        if token is None:  # e.g. ℃ -> "°C": fall back to the first piece the tokenizer makes
            pieces = [
                p
                for p in tokenizer(char, add_special_tokens=False)["input_ids"]
                if tokenizer.convert_ids_to_tokens(p) not in WORD_START
            ]
            token = pieces[0] if pieces and pieces[0] != tokenizer.unk_token_id else None
        if token is not None:
            mapping[char] = token
    return mapping


def prune(
    char_map: dict[str, int], specials: Specials
) -> tuple[list[int], dict[str, int], Specials]:
    """Keep only the vocabulary rows in use; return kept old ids and re-indexed maps.

    ``kept[new_id] == old_id``: the embedding matrix is re-indexed with ``weight[kept]``.
    """
    kept = sorted({specials.cls, specials.sep, specials.pad, specials.unk, *char_map.values()})
    new_id = {old: new for new, old in enumerate(kept)}
    return (
        kept,
        {c: new_id[t] for c, t in char_map.items()},
        Specials(*(new_id[getattr(specials, f)] for f in ("cls", "sep", "pad", "unk"))),
    )


class CharLookup:
    """Character -> id of a trained model's map when tagging new text, counting misses.

    A character outside the map takes the id of its NFKC form (full-width ``Ａ`` -> ``A``),
    or of a mapped character with the same NFKC form, as :func:`char_token_id` mapped the
    corpus; any other reads as ``unk`` and is counted in ``unknown`` (``seen``: all).
    """

    def __init__(self, char_map: dict[str, int], unk: int):
        self.char_map, self.unk = char_map, unk
        self.by_nfkc: dict[str, int] = {}
        for char, token in char_map.items():
            self.by_nfkc.setdefault(unicodedata.normalize("NFKC", char), token)
        self.unknown: Counter[str] = Counter()
        self.seen = 0

    def ids(self, text: str) -> list[int]:
        ids = []
        for char in text:
            token = self.char_map.get(char)
            if token is None:
                form = unicodedata.normalize("NFKC", char)
                token = self.char_map.get(form, self.by_nfkc.get(form))
            if token is None:
                self.unknown[char] += 1
                token = self.unk
            ids.append(token)
        self.seen += len(text)
        return ids

    def report(self) -> str | None:
        """One line on the characters read as unknown so far (None if none were)."""
        if not self.unknown:
            return None
        count = sum(self.unknown.values())
        examples = " ".join(
            c if c.isprintable() and not c.isspace() else repr(c)
            for c, _ in self.unknown.most_common(10)
        )
        return (
            f"{count:,} of {self.seen:,} characters ({len(self.unknown):,} distinct: {examples}) "
            "are not in the model's vocabulary, nor in NFKC form; they were read as its "
            "unknown token"
        )
