"""Characters to token ids, and long sentences to overlapping windows.

Every character maps to exactly one token id, so labels align 1:1 with
characters for WordPiece and SentencePiece vocabularies alike. A sentence
longer than ``max_length - 2`` is cut into overlapping windows; each character
is *scored* in exactly one window (the one where it sits furthest from an edge),
so evaluation gives every character one prediction and none is truncated.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from enttag.corpus import LABELS, Sentence

IGNORE = -100  # label of positions that never count in the loss (specials, padding)
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
        raise ValueError(f"tokenizer has no {', '.join(missing)} token")
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


def window_bounds(n: int, width: int, stride: int) -> list[tuple[int, int, int, int]]:
    """Windows over ``n`` characters: ``(start, end, score_start, score_end)``.

    Consecutive windows overlap by ``stride`` characters; the overlap is split
    in the middle, so the scored ranges tile ``[0, n)`` exactly once.
    """
    if n <= width:
        return [(0, n, 0, n)]
    step = width - stride
    starts = list(range(0, n - width, step)) + [n - width]
    bounds = []
    for k, start in enumerate(starts):
        end = start + width
        score_start = 0 if k == 0 else bounds[-1][3]
        score_end = n if k == len(starts) - 1 else (starts[k + 1] + end) // 2
        bounds.append((start, end, score_start, score_end))
    return bounds


@dataclass
class EncodedSplit:
    """Windows of one split as flat tensors (a ragged array).

    Window ``w`` holds tokens ``ids[ptr[w]:ptr[w+1]]`` (with the special tokens),
    ``labels`` of the same length (``IGNORE`` at specials), and ``scored``
    marking the positions this window scores; it covers characters
    ``start[w]...`` of sentence ``sent[w]``.
    """

    ids: torch.Tensor
    labels: torch.Tensor
    scored: torch.Tensor
    ptr: torch.Tensor
    sent: torch.Tensor
    start: torch.Tensor
    n_sentences: int

    def __len__(self) -> int:
        return len(self.sent)

    def lengths(self) -> list[int]:
        return (self.ptr[1:] - self.ptr[:-1]).tolist()

    def window(self, w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, b = int(self.ptr[w]), int(self.ptr[w + 1])
        return self.ids[a:b], self.labels[a:b], self.scored[a:b]

    def to_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in ("ids", "labels", "scored", "ptr", "sent", "start")},
            "n_sentences": self.n_sentences,
        }

    @classmethod
    def from_dict(cls, d: dict) -> EncodedSplit:
        return cls(**d)


def encode_text(text: str, char_map: dict[str, int], unk: int) -> list[int]:
    return [char_map.get(c, unk) for c in text]


def encode_split(
    texts: Sequence[str],
    labels: Sequence[Sequence[str]] | None,
    char_map: dict[str, int],
    specials: Specials,
    max_length: int,
    stride: int,
) -> EncodedSplit:
    """Encode sentences into windows of at most ``max_length`` tokens."""
    width = max_length - 2
    label_id = {name: i for i, name in enumerate(LABELS)}
    ids, labs, scored, ptr, sent, start = [], [], [], [0], [], []
    for s, text in enumerate(texts):
        tokens = encode_text(text, char_map, specials.unk)
        tags = [label_id[t] for t in labels[s]] if labels is not None else [IGNORE] * len(text)
        for a, b, sa, sb in window_bounds(len(text), width, stride):
            ids += [specials.cls, *tokens[a:b], specials.sep]
            labs += [IGNORE, *tags[a:b], IGNORE]
            scored += [False, *(sa <= i < sb for i in range(a, b)), False]
            ptr.append(len(ids))
            sent.append(s)
            start.append(a)
    return EncodedSplit(
        ids=torch.tensor(ids, dtype=torch.int32),
        labels=torch.tensor(labs, dtype=torch.int8),
        scored=torch.tensor(scored, dtype=torch.bool),
        ptr=torch.tensor(ptr, dtype=torch.int64),
        sent=torch.tensor(sent, dtype=torch.int64),
        start=torch.tensor(start, dtype=torch.int64),
        n_sentences=len(texts),
    )


def encode_sentences(
    sentences: Sequence[Sentence], char_map, specials, max_length, stride
) -> EncodedSplit:
    return encode_split(
        [s.text for s in sentences],
        [s.labels for s in sentences],
        char_map,
        specials,
        max_length,
        stride,
    )
