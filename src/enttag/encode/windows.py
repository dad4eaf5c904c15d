"""Long sentences as overlapping windows, and every character scored exactly once.

A sentence longer than ``max_length - 2`` is cut into overlapping windows; each
character is *scored* in exactly one window (the one where it sits furthest from an
edge), so evaluation gives every character one prediction and none is truncated.
The layout (which window position scores which character) is computed here only:
:class:`CharSheet` fills per-character values from windows and checks that every
character was written exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from enttag.data.readers import Sentence
from enttag.encode.charmap import Specials
from enttag.errors import EnttagError
from enttag.labels import TAGS, labels_of_tags

IGNORE = -100  # tag of positions that never count in the loss (specials, padding)


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
    ``tags`` of the same length (B/I/O ids of ``labels.TAGS``, ``IGNORE`` at specials:
    an Ent/O model reads them as labels, a B/I/O one as they are), and ``scored``
    marking the positions this window scores; it covers characters
    ``start[w]...`` of sentence ``sent[w]``.
    """

    ids: torch.Tensor
    tags: torch.Tensor
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
        return self.ids[a:b], self.tags[a:b], self.scored[a:b]

    def to_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in ("ids", "tags", "scored", "ptr", "sent", "start")},
            "n_sentences": self.n_sentences,
        }

    @classmethod
    def from_dict(cls, d: dict) -> EncodedSplit:
        return cls(**d)


def encode_text(text: str, char_map: dict[str, int], unk: int) -> list[int]:
    return [char_map.get(c, unk) for c in text]


def encode_split(
    texts: Sequence[str],
    tags: Sequence[Sequence[str]] | None,
    char_map: dict[str, int],
    specials: Specials,
    max_length: int,
    stride: int,
    encode: Callable[[str], list[int]] | None = None,
) -> EncodedSplit:
    """Encode sentences (and their ``B``/``I``/``O`` tags) into windows of at most
    ``max_length`` tokens.

    ``encode`` maps a text to its ids (default: ``char_map``, the rest ``specials.unk``).
    """
    width = max_length - 2
    tag_id = {name: i for i, name in enumerate(TAGS)}
    ids, labs, scored, ptr, sent, start = [], [], [], [0], [], []
    for s, text in enumerate(texts):
        tokens = encode(text) if encode else encode_text(text, char_map, specials.unk)
        ids_of = [tag_id[t] for t in tags[s]] if tags is not None else [IGNORE] * len(text)
        for a, b, sa, sb in window_bounds(len(text), width, stride):
            ids += [specials.cls, *tokens[a:b], specials.sep]
            labs += [IGNORE, *ids_of[a:b], IGNORE]
            scored += [False, *(sa <= i < sb for i in range(a, b)), False]
            ptr.append(len(ids))
            sent.append(s)
            start.append(a)
    return EncodedSplit(
        ids=torch.tensor(ids, dtype=torch.int32),
        tags=torch.tensor(labs, dtype=torch.int8),
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
        [s.tags for s in sentences],
        char_map,
        specials,
        max_length,
        stride,
    )


def char_positions(data: EncodedSplit) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, pos)``: each sentence's start in the flat character array, and for
    every token of ``data.ids`` the flat index of the character it scores (-1 if none)."""
    scored = data.scored.numpy()
    ptr, sent, start = data.ptr.numpy(), data.sent.numpy(), data.start.numpy()
    window = np.repeat(np.arange(len(data)), ptr[1:] - ptr[:-1])
    column = np.arange(len(scored)) - ptr[window]  # position in the window, [CLS] = 0
    chars = start[window] + column - 1  # character of the sentence at that position
    ends = start + (ptr[1:] - ptr[:-1]) - 2  # each window's end, without [CLS] and [SEP]
    sizes = np.zeros(data.n_sentences + 1, dtype=np.int64)
    np.maximum.at(sizes, sent + 1, ends)  # a sentence ends where its last window does
    offsets = np.cumsum(sizes)
    pos = np.where(scored, offsets[sent[window]] + chars, -1)
    return offsets, pos


class CharSheet:
    """One value per character of a split, written window by window.

    ``put(w, values)`` takes the values of window ``w``'s token positions (with
    ``channels``, that many values per position) and keeps
    those of the characters it scores; :meth:`per_sentence` checks that every
    character was written exactly once (a miss or a double raises EnttagError) and
    returns one array per sentence.
    """

    def __init__(self, data: EncodedSplit, dtype: type = np.float32, channels: int | None = None):
        self.offsets, self.pos = char_positions(data)
        self.ptr = data.ptr.numpy()
        n = int(self.offsets[-1])
        self.values = np.zeros((n,) if channels is None else (n, channels), dtype=dtype)
        self.hits = np.zeros(n, dtype=np.int32)

    def put(self, w: int, values: np.ndarray) -> None:
        pos = self.pos[self.ptr[w] : self.ptr[w + 1]]
        keep = pos >= 0
        self.values[pos[keep]] = np.asarray(values)[: len(pos)][keep]
        np.add.at(self.hits, pos[keep], 1)

    def per_sentence(self) -> list[np.ndarray]:
        missed, doubled = int((self.hits == 0).sum()), int((self.hits > 1).sum())
        if missed or doubled:
            raise EnttagError(
                f"windowing error: {missed} characters never scored and {doubled} scored "
                f"more than once (of {len(self.hits)})"
            )
        o = self.offsets
        return [self.values[o[s] : o[s + 1]] for s in range(len(o) - 1)]


def gold_tags_per_sentence(data: EncodedSplit) -> list[np.ndarray]:
    """Gold tag ids (0 = B, 1 = I, 2 = O) of every scored character, one array per sentence."""
    sheet = CharSheet(data, dtype=np.int64)
    tags, ptr = data.tags.numpy(), data.ptr.numpy()
    for w in range(len(data)):
        sheet.put(w, tags[ptr[w] : ptr[w + 1]])
    return sheet.per_sentence()


def gold_per_sentence(data: EncodedSplit) -> list[np.ndarray]:
    """Gold label ids (0 = Ent, 1 = O) of every scored character, one array per sentence."""
    return [labels_of_tags(t) for t in gold_tags_per_sentence(data)]
