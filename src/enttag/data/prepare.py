"""Make the train/dev/test splits, count them, and write them as JSON lines.

A prepared row: ``{"text": str, "labels": ["Ent" | "O", ...], "tags": ["B" | "I" | "O",
...]}``, one label and one tag per character; the labels must be what the tags say (B and
I are Ent). A row without ``tags`` (prepared before tags were kept, or written by hand)
reads its labels as one entity per run of Ent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from enttag.atomic import write_json, write_jsonl
from enttag.data.readers import Sentence, quote, read_lines
from enttag.errors import EnttagError, InputError
from enttag.labels import LABELS

SPLITS = ("train", "dev", "test")
OVERLAP_WARN = 0.05  # share of test sentences also in dev above which prepare warns


def split_corpus(
    train: Sequence[Sentence],
    dev: Sequence[Sentence] | None,
    test: Sequence[Sentence],
    *,
    dev_fraction: float,
    seed: int,
    max_train: int | None,
    max_dev: int | None,
    max_test: int | None,
) -> dict[str, list[Sentence]]:
    """Return {"train", "dev", "test"}; carve dev from train when ``dev`` is None, then cap.

    Carving and caps pick seeded random subsets and keep the corpus order of what they keep;
    each split draws from its own seed, so one split's cap does not change another's subset.
    Carved sentences that ``max_dev`` leaves out of dev go back to train (nothing is lost).
    """
    caps = {"train": max_train, "dev": max_dev, "test": max_test}
    given, carving = dict(caps), dev is None
    if dev is None:
        carved = _carve(len(train), dev_fraction, random.Random(f"{seed}:carve"))
        in_dev = set(_cap(carved, max_dev, random.Random(f"{seed}:dev")))
        train, dev = (
            [s for i, s in enumerate(train) if i not in in_dev],
            [s for i, s in enumerate(train) if i in in_dev],
        )
        caps["dev"] = None
    splits = {"train": list(train), "dev": list(dev), "test": list(test)}
    for name in SPLITS:
        splits[name] = _cap(splits[name], caps[name], random.Random(f"{seed}:{name}"))
        if not splits[name]:
            raise EnttagError(f"the {name} split is empty (after carving dev and caps)")
    for name in SPLITS:  # a split without Ent: nothing to learn from, or F1 0 as a "result"
        if not any("Ent" in s.labels for s in splits[name]):
            made = {f"prepare.max_{name}": given[name]}
            if name == "dev" and carving:
                made = {"prepare.dev_fraction": dev_fraction, **made}
            raise EnttagError(no_ent_message(name, len(splits[name]), made))
    return splits


def no_ent_message(name: str, size: int, made: dict[str, Any]) -> str:
    """A split without Ent after carving and caps, and the params that made it."""
    values = ", ".join(f"{key}={value}" for key, value in made.items())
    return (
        f"the {name} split has no Ent characters in its {size:,} sentences after carving dev "
        f"and caps ({values}): nothing to learn or score there; raise {' or '.join(made)}"
        + (" (or give data.dev)" if "prepare.dev_fraction" in made else "")
    )


def check_labelled(path: Path, sentences: Sequence[Sentence]) -> None:
    """Refuse a file without a single entity label: scoring it would report F1 0 as a result."""
    if not any("Ent" in s.labels for s in sentences):
        raise InputError(
            path,
            f"no entity labels in any of its {len(sentences):,} sentences; an unlabelled file "
            "cannot be trained on or scored (to tag it: enttag predict --input FILE)",
        )


def overlap_warning(
    dev_path: Path, dev: Sequence[Sentence], test_path: Path, test: Sequence[Sentence]
) -> str | None:
    """A warning when dev and test are the same file, or share many identical sentences."""
    if dev_path.resolve() == test_path.resolve():
        return f"data.dev and data.test are the same file ({test_path}): dev scores are test scores"
    dev_texts = {s.text for s in dev}
    shared = sum(s.text in dev_texts for s in test)
    if shared > OVERLAP_WARN * len(test):
        return (
            f"{shared:,} of {len(test):,} test sentences ({shared / len(test):.0%}) are also in "
            f"dev ({dev_path}): the threshold chosen on dev is partly chosen on test"
        )
    return None


def _carve(n: int, fraction: float, rng: random.Random) -> list[int]:
    """The sorted indices of ``round(fraction * n)`` seeded random sentences out of ``n``."""
    if not 0 < fraction < 1:
        raise EnttagError(f"dev_fraction must be between 0 and 1, got {fraction}")
    return sorted(rng.sample(range(n), round(fraction * n)))


def _cap(sentences: list, cap: int | None, rng: random.Random) -> list:
    """Keep a seeded random ``cap`` of ``sentences`` (all when None), in their order."""
    if cap is None or cap >= len(sentences):
        return sentences
    if cap < 0:
        raise EnttagError(f"a split cap must be at least 0, got {cap}")
    return [sentences[i] for i in sorted(rng.sample(range(len(sentences)), cap))]


def split_stats(
    splits: Mapping[str, Sequence[Sentence]], corpus: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Count sentences, characters, Ent characters and entities per split; add ``corpus``
    as is."""
    stats: dict[str, Any] = {name: _counts(sentences) for name, sentences in splits.items()}
    stats["corpus"] = dict(corpus or {})
    return stats


def _counts(sentences: Sequence[Sentence]) -> dict[str, Any]:
    characters = sum(len(s.text) for s in sentences)
    ent = sum(s.labels.count("Ent") for s in sentences)
    return {
        "sentences": len(sentences),
        "characters": characters,
        "ent_characters": ent,
        "ent_share": round(ent / characters, 6) if characters else 0.0,
        "entities": sum(s.tags.count("B") for s in sentences),
    }


def write_prepared(
    splits: Mapping[str, Sequence[Sentence]], out_dir: Path, stats: Mapping[str, Any]
) -> None:
    """Write ``<split>.jsonl`` for each split and ``stats.json`` into ``out_dir``."""
    for name, sentences in splits.items():
        rows = ({"text": s.text, "labels": list(s.labels), "tags": list(s.tags)} for s in sentences)
        write_jsonl(Path(out_dir) / f"{name}.jsonl", rows)
    write_json(Path(out_dir) / "stats.json", dict(stats))


def read_prepared(path: str | Path) -> list[Sentence]:
    """Read a ``<split>.jsonl`` written by ``write_prepared``; InputError names a bad line."""
    sentences = []
    for number, line in read_lines(Path(path)):
        if not line.strip():
            continue
        try:
            sentences.append(_prepared_sentence(json.loads(line)))
        except json.JSONDecodeError as e:
            raise InputError(path, f"invalid JSON: {e.msg} (column {e.colno})", number) from None
        except ValueError as e:
            raise InputError(path, str(e), number) from None
    if not sentences:
        raise InputError(path, "no sentences in file")
    return sentences


def _prepared_sentence(row: Any) -> Sentence:
    if not (
        isinstance(row, dict)
        and isinstance(row.get("text"), str)
        and isinstance(row.get("labels"), list)
    ):
        raise ValueError('expected an object with a string "text" and a list "labels"')
    labels = tuple(row["labels"])
    unknown = [label for label in labels if label not in LABELS]
    if unknown:
        raise ValueError(f"unknown label {quote(str(unknown[0]))}; expected one of {LABELS}")
    if "tags" not in row:
        return Sentence(row["text"], labels)
    if not isinstance(row["tags"], list):
        raise ValueError('"tags" is not a list')
    sentence = Sentence(row["text"], tuple(row["tags"]))
    if len(labels) != len(sentence.text):
        raise ValueError(f"{len(sentence.text)} characters but {len(labels)} labels")
    if labels != sentence.labels:
        k = next(k for k, (a, b) in enumerate(zip(labels, sentence.labels, strict=True)) if a != b)
        raise ValueError(
            f"label {quote(str(labels[k]))} of character {k} disagrees with its tag "
            f"{quote(str(row['tags'][k]))} (B and I are Ent, O is O)"
        )
    return sentence
