"""The ``Precompiled`` normaliser blob of tokenizers (XLM-R's): a darts-clone trie."""

from __future__ import annotations

import struct

import numpy as np

from enttag.errors import EnttagError


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Compile a per-code-point map into SentencePiece's ``precompiled_charsmap``.

    That is the blob tokenizers' ``Precompiled`` normaliser (XLM-R's) reads: u32 trie
    size in bytes, a darts-clone double-array trie over the UTF-8 key bytes whose
    values are offsets into the pool of NUL-terminated replacements that follows.
    A unit holds label (bits 0-7), has-leaf (bit 8) and offset (bits 10-30); the
    child with label ``c`` of the node at ``p`` is at ``p ^ offset ^ c``, and a
    node's value sits at label 0 (bit 31 set, so it never matches a label).
    """
    pool, where = bytearray(), {}
    trie: dict = {}
    for cp, out in sorted(norm.items()):
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = where[out]  # label 0: the value (UTF-8 keys never contain a NUL byte)

    size = 1 << 21  # offsets must fit 21 bits
    units = np.zeros(size, dtype="<u4")
    used = np.zeros(size, dtype=bool)  # slot taken
    taken = np.zeros(size, dtype=bool)  # base already used by another node
    used[0], first_free, end = True, 1, 256
    todo = [(trie, 0)]
    while todo:
        node, pos = todo.pop()
        labels = np.array(sorted(node))
        while used[first_free]:
            first_free += 1
        # children go to base ^ label: the first base (near the first free slot) whose
        # slots are all free; a window of 4096 candidates is scanned at once
        start = first_free & ~0xFF
        while True:
            if start + 4096 + 256 > size:
                raise EnttagError("normalisation map too large for a precompiled charsmap")
            cand = np.arange(start, start + 4096)
            ok = ~taken[cand] & ~used[cand[:, None] ^ labels].any(axis=1)
            if ok.any():
                base = int(cand[ok.argmax()])
                break
            start += 4096
        taken[base] = True
        units[pos] |= (pos ^ base) << 10
        end = max(end, (base | 0xFF) + 1)
        for c in labels.tolist():
            slot = base ^ c
            used[slot] = True
            if c == 0:
                units[slot] = node[0] | 1 << 31
            else:
                units[slot] = c | (0 in node[c]) << 8
                todo.append((node[c], slot))
    trie_bytes = units[:end].tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(pool)
