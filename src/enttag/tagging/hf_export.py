"""Export a trained model as a Hugging Face folder that plain ``transformers`` loads.

The folder holds ``config.json`` (the encoder's architecture with a token-classification
head, ``id2label`` from the model's labels, the pruned vocabulary size),
``model.safetensors`` (the weights under the Hugging Face names), a fast tokenizer
(``tokenizer.json`` and its config) and a model card (``README.md``,
:mod:`enttag.tagging.card`). ``AutoModelForTokenClassification``, ``AutoTokenizer`` and
``pipeline("token-classification")`` read it without enttag.

The tokenizer gives every character exactly the id enttag's character map gives it
(:mod:`enttag.encode.charmap`): one token per character (code point), whitespace
included, the unknown id for any character outside the map, and the encoder's
``[CLS]``/``[SEP]`` (``<s>``/``</s>``) around the text. Characters that share an id
(``，`` and ``,`` in a SentencePiece vocabulary, ``A`` and ``a`` in an uncased one) are
rewritten by its normaliser to one of them (``,``, ``a``), so each id decodes to one
string; offsets still point into the original text.
Special-token strings in the text (``[CLS]``) are read as characters, as enttag does.

Only the linear head exports: a ``model.head: crf`` model's P(Ent) are CRF marginals,
which no token-classification head computes, so it is refused.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from enttag.atomic import atomic_dir
from enttag.encode.charmap import CharLookup, Specials
from enttag.errors import EnttagError

ROBERTA_TYPES = ("roberta", "xlm-roberta", "camembert")  # position ids count from padding
SPECIAL_NAMES = {
    "bert": {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]"},
    "sentencepiece": {"cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>"},
}
CARD_INPUTS = {"metrics": "metrics/test.json", "params": "params.yaml"}
TOLERANCE = 1e-5  # max |ΔP(Ent)| of the exported model against enttag's on the check windows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--metrics`` and ``--params``, read into the model card."""
    for name, path in CARD_INPUTS.items():
        parser.add_argument(
            f"--{name}", help=f"transformers: {path} for the model card (default: it, if present)"
        )


def run(args: argparse.Namespace) -> int:
    """``enttag export --format transformers``."""
    if args.int8:
        raise EnttagError("--int8 applies to --format onnx only")
    inputs = {}
    for name, default in CARD_INPUTS.items():
        inputs[name] = getattr(args, name) or (default if Path(default).is_file() else None)
    out = export_transformers(args.model, args.out or "models/hf", **inputs)
    print(" ".join(sorted(p.name for p in out.iterdir())), "->", out)
    return 0


def export_transformers(
    model_path: str | Path,
    out: str | Path,
    metrics: str | Path | None = None,
    params: str | Path | None = None,
) -> Path:
    """Write the Hugging Face folder ``out`` for the ``.pkl`` at ``model_path``.

    ``metrics``: a ``metrics/test.json`` whose test scores go into the model card;
    ``params``: a ``params.yaml`` whose ``data`` section describes the corpus there.
    The written folder is loaded back with ``from_pretrained`` and checked against
    enttag (token ids of every mapped character, P(Ent) on a probe) before it
    replaces ``out``.
    """
    from enttag.model.network import model_from_checkpoint, read_checkpoint
    from enttag.tagging.card import model_card, read_data_params, read_metrics

    checkpoint = read_checkpoint(model_path)
    model = model_from_checkpoint(checkpoint)
    if model.crf is not None:
        raise EnttagError(
            f"{model_path}: the transformers export supports the linear head, not "
            "model.head crf (its P(Ent) are CRF marginals, not a token classifier's softmax)"
        )
    scores = read_metrics(metrics) if metrics is not None else None
    data = read_data_params(params) if params is not None else None
    hf_model = token_classifier(checkpoint, model, model_path)
    tokenizer = char_tokenizer(checkpoint)
    with atomic_dir(out) as tmp, quiet():
        hf_model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        portable_tokenizer_class(tmp / "tokenizer_config.json")
        card = model_card(checkpoint, hf_model.config, scores, data)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        check_folder(tmp, checkpoint, model)
    return Path(out)


@contextmanager
def quiet() -> Iterator[None]:
    """No transformers progress bars (writing and loading back the weights)."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def token_classifier(checkpoint: dict[str, Any], model, source: str | Path):
    """The encoder + linear head as ``AutoModelForTokenClassification`` (HF names)."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    config_dict = dict(checkpoint["encoder_config"])
    config_dict.pop("architectures", None)
    labels = list(checkpoint["labels"])
    config = AutoConfig.for_model(
        config_dict.pop("model_type"),
        **{
            **config_dict,
            "id2label": dict(enumerate(labels)),
            "label2id": {name: i for i, name in enumerate(labels)},
        },
    )
    hf_model = AutoModelForTokenClassification.from_config(config)
    prefix = hf_model.base_model_prefix
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("encoder.pooler."):  # a token classifier has no pooler
            continue
        if key.startswith("encoder."):
            state[f"{prefix}.{key.removeprefix('encoder.')}"] = value
        elif key.startswith("head."):
            state[f"classifier.{key.removeprefix('head.')}"] = value
        else:
            raise EnttagError(
                f"{source}: unexpected weight {key!r}; cannot name it for transformers"
            )
    missing, unexpected = hf_model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise EnttagError(
            f"{source}: the weights do not fit {type(hf_model).__name__} "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return hf_model.eval()


def special_names(checkpoint: dict[str, Any]) -> dict[str, str]:
    """``[CLS]``-style names for a WordPiece encoder, ``<s>``-style for a SentencePiece one.

    The model file keeps the special ids, not their strings: RoBERTa-family encoders and
    the built-in multilingual-e5 (an XLM-R vocabulary) use ``<s>``, the others ``[CLS]``.
    """
    model_type = checkpoint["encoder_config"].get("model_type")
    name = str(checkpoint.get("params", {}).get("model", {}).get("name", ""))
    sentencepiece = model_type in ROBERTA_TYPES or name.startswith("builtin:")
    return SPECIAL_NAMES["sentencepiece" if sentencepiece else "bert"]


def char_tokenizer(checkpoint: dict[str, Any]):
    """A fast tokenizer: one token per character, with exactly enttag's ids."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    specials = Specials(**checkpoint["specials"])
    names = special_names(checkpoint)
    ids = {role: getattr(specials, role) for role in names}
    if len(set(ids.values())) != len(ids):
        raise EnttagError(f"special ids {ids} are not distinct; cannot build a tokenizer")
    vocab = {names[role]: i for role, i in ids.items()}
    by_id: dict[int, list[str]] = {}
    for char, i in checkpoint["char_to_id"].items():
        if i == specials.unk:
            continue  # the unknown token covers it anyway
        if i in ids.values():
            raise EnttagError(f"character {char!r} maps to special id {i}; cannot export it")
        by_id.setdefault(i, []).append(char)
    for char, i in nfkc_aliases(checkpoint["char_to_id"], specials.unk):
        by_id.setdefault(i, []).append(char)
    rewrites = []
    for i, chars in sorted(by_id.items()):
        canonical, *aliases = sorted(chars, key=lambda c: (c != plain(c), c))
        vocab[canonical] = i
        if aliases:
            pattern = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in aliases) + "]"
            rewrites.append(normalizers.Replace(Regex(pattern), canonical))
    backend = Tokenizer(models.WordLevel(vocab, unk_token=names["unk"]))
    if rewrites:
        backend.normalizer = normalizers.Sequence(rewrites)
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    cls, sep = names["cls"], names["sep"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} $B {sep}",
        special_tokens=[(cls, specials.cls), (sep, specials.sep)],
    )
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        **{f"{role}_token": name for role, name in names.items()},
        model_max_length=checkpoint["max_length"],  # the window it was trained and tested on
        model_input_names=["input_ids", "attention_mask"],
        split_special_tokens=True,
    )


def nfkc_aliases(char_map: dict[str, int], unk: int) -> list[tuple[str, int]]:
    """Characters outside the map that ``enttag predict`` reads through their NFKC form
    (:class:`enttag.encode.charmap.CharLookup`: ``１`` as ``1``), with those ids."""
    lookup = CharLookup(char_map, unk)
    out = []
    for code in range(0x110000):
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF or char in char_map:
            continue
        form = unicodedata.normalize("NFKC", char)
        token = char_map.get(form, lookup.by_nfkc.get(form))
        if token is not None and token != unk:
            out.append((char, token))
    return out


def portable_tokenizer_class(path: Path) -> None:
    """Name the class ``PreTrainedTokenizerFast``: transformers 5 reads it as its
    ``TokenizersBackend``, and it is the name transformers 4 uses."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plain(char: str) -> str:
    """NFKC, lower-cased: the form a vocabulary most likely stores (``a`` for ``Ａ``)."""
    return unicodedata.normalize("NFKC", char).lower()


def check_folder(folder: Path, checkpoint: dict[str, Any], model) -> None:
    """Load ``folder`` with plain transformers; its ids and class probabilities must be
    enttag's."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from enttag.encode.windows import encode_text

    specials = Specials(**checkpoint["specials"])
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    chars = "".join(sorted(checkpoint["char_to_id"])) + " \t\n[UNK]<s>\U0001f600\u0378"
    expected = [specials.cls, *encode_text(chars, checkpoint["char_to_id"], specials.unk)]
    got = tokenizer(chars, truncation=False, verbose=False)["input_ids"]
    if got != [*expected, specials.sep]:
        pairs = zip(got[1:], expected[1:], strict=False)
        i = next((i for i, (a, b) in enumerate(pairs) if a != b), len(chars))
        raise EnttagError(
            f"{folder}: the tokenizer does not give enttag's ids (first at character "
            f"{i}: {chars[i : i + 1]!r})"
        )
    hf_model = AutoModelForTokenClassification.from_pretrained(str(folder)).eval()
    width = checkpoint["max_length"] - 2
    probe = [[specials.cls, *expected[1 + k : 1 + k + width], specials.sep] for k in (0, width)]
    probe = [row for row in probe if len(row) > 2]
    length = max(len(row) for row in probe)
    ids = torch.tensor([row + [specials.pad] * (length - len(row)) for row in probe])
    mask = torch.tensor([[1] * len(row) + [0] * (length - len(row)) for row in probe])
    with torch.no_grad():
        ours = torch.softmax(model(ids, mask).float(), -1)
        theirs = torch.softmax(hf_model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    diff = float((ours - theirs).abs()[mask.bool()].max())
    if diff > TOLERANCE:
        raise EnttagError(
            f"{folder}: exported class probabilities differ from enttag's by {diff:.2e}"
        )
