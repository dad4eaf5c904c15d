"""Read tagged Chinese corpora into character-level sentences that keep entity boundaries.

Three formats: CoNLL-style (one ``char<tab or space>tag`` per line, a blank line
between sentences; BIO, BIOES or BMES tags), CLUENER-style JSON lines with
inclusive mention offsets, and Label Studio's JSON export (a list of tasks whose
``labels`` regions have half-open character offsets). Each sentence gets B/I/O tags
(``Sentence.tags``); every character of an entity is ``Ent`` (``Sentence.labels``).
Entity types are ignored, boundaries kept:

- CoNLL: ``B-``/``S-`` open an entity, ``I-``/``M-``/``E-`` continue the open one and
  ``E-``/``S-`` close it; an ``I-``/``M-``/``E-`` with no open entity (first, or after
  ``O``, ``E-`` or ``S-``) opens one, as seqeval does. The bare ``Ent`` that ``enttag
  predict --format tags`` writes continues like ``I-``: a run of ``Ent`` is one entity.
- CLUENER and Label Studio spans: spans that share characters (overlapping or nested)
  cannot all be B/I/O tags. Overlap rule: taking spans by start, the longest first at
  one start, keep each span that overlaps no span kept before it and drop it otherwise;
  ``read_corpus`` warns with the number dropped. A span given twice (say under two
  types) is one entity, not an overlap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enttag.errors import InputError
from enttag.labels import TAGS

FORMATS = ("conll", "cluener", "label-studio")

# BIO/BIOES/BMES tags, and the bare ``Ent`` that ``enttag predict --format tags`` writes.
_TAG = re.compile(r"O|Ent|[BIMES]-\S+")
# A character followed by a word-position mark (Weibo: "张0", "e10"); a run of
# U+FFFD stands for one character lost in an earlier decoding (Weibo's emoji).
# Read only in files whose first non-digit token carries a mark: elsewhere "2008"
# is four characters on one line, an error, never silently cut to "2".
_MARKED_CHAR = re.compile(r"(\ufffd+|.)[0-9]+", re.DOTALL)
_SEPARATORS = " \t"
QUOTE_CHARS = 80


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``repr`` of ``text``, cut to ``limit`` characters (a whole file on one line stays short)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


@dataclass(frozen=True)
class Sentence:
    """A non-empty text and one tag from ``TAGS`` per character; ``labels`` are its Ent/O.

    ``tags`` may also hold ``Ent``, read as ``I``. An ``I`` that starts the text or follows
    ``O`` opens an entity and is stored as ``B``: Ent/O labels give one entity per run,
    and sentences with the same entities are equal.
    """

    text: str
    tags: tuple[str, ...]
    labels: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a sentence needs at least one character")
        if len(self.tags) != len(self.text):
            raise ValueError(f"{len(self.text)} characters but {len(self.tags)} tags")
        tags, previous = [], "O"
        for tag in self.tags:
            if tag in ("I", "Ent"):
                tag = "B" if previous == "O" else "I"
            elif tag not in TAGS:
                raise ValueError(f"unknown tag {tag!r}; expected one of {TAGS} or 'Ent'")
            tags.append(tag)
            previous = tag
        object.__setattr__(self, "tags", tuple(tags))
        object.__setattr__(self, "labels", tuple("O" if t == "O" else "Ent" for t in tags))


Read = list[tuple[Sentence, int]]  # each sentence with the number of spans it dropped


def read_corpus(
    path: str | Path, fmt: str, warn: Callable[[str], object] | None = None
) -> list[Sentence]:
    """Read a file in one of ``FORMATS``; raise InputError on bad or empty input.

    ``warn`` gets one line when the overlap rule (module docstring) dropped spans.
    """
    readers = {"conll": _read_conll, "cluener": _read_cluener, "label-studio": _read_label_studio}
    if fmt not in readers:
        raise ValueError(f"unknown corpus format {fmt!r}; expected one of {FORMATS}")
    read = readers[fmt](Path(path))
    if not read:
        raise InputError(path, "no sentences in file")
    dropped = [n for _, n in read if n]
    if dropped and warn:
        warn(
            f"{path}: {sum(dropped):,} entity spans overlap a span kept before them in "
            f"{len(dropped):,} of {len(read):,} sentences and were dropped (spans taken by "
            "start, the longest first)"
        )
    return [sentence for sentence, _ in read]


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based number, line without LF/CRLF) of a UTF-8 file; InputError if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read file: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        number = data.count(b"\n", 0, e.start) + 1
        cause = f"not UTF-8: byte 0x{data[e.start]:02x} ({e.reason})"
        raise InputError(path, cause, number) from None
    text = text.removeprefix("\ufeff")
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.removesuffix("\r")


def _position_marked(lines: list[tuple[int, str]]) -> bool:
    """True if the first token that does not start with a digit carries a Weibo mark."""
    for _, line in lines:
        token = re.split(r"[ \t]", line.rstrip(_SEPARATORS))[0]
        if token and not token[0].isdigit():
            return len(token) > 1 and bool(_MARKED_CHAR.fullmatch(token))
    return False


def _read_conll(path: Path) -> Read:
    sentences: Read = []
    chars: list[str] = []
    kinds: list[str] = []
    parsed: dict[str, tuple[str, str]] = {}  # line -> (character, kind); lines repeat a lot
    lines = list(read_lines(path))
    marked = _position_marked(lines)
    for number, line in lines:
        line = line.rstrip(_SEPARATORS)
        if line:
            if line not in parsed:
                parsed[line] = _conll_token(path, number, line, marked)
            char, kind = parsed[line]
            chars.append(char)
            kinds.append(kind)
        elif chars:
            sentences.append((Sentence("".join(chars), _conll_tags(kinds)), 0))
            chars, kinds = [], []
    if chars:
        sentences.append((Sentence("".join(chars), _conll_tags(kinds)), 0))
    return sentences


def _conll_tags(kinds: Sequence[str]) -> tuple[str, ...]:
    """B/I/O tags of CoNLL tag kinds (``O``, ``Ent`` or a prefix letter), as the module
    docstring says."""
    tags, open_ = [], False
    for kind in kinds:
        if kind == "O":
            tags.append("O")
            open_ = False
        else:
            tags.append("I" if open_ and kind not in ("B", "S") else "B")
            open_ = kind not in ("E", "S")
    return tuple(tags)


def _conll_token(path: Path, number: int, line: str, marked: bool) -> tuple[str, str]:
    """Split ``line`` on its last tab or space; return (character, tag kind): ``O``,
    ``Ent`` or the letter before ``-`` (``B``, ``I``, ``M``, ``E`` or ``S``).

    ``marked``: the file carries Weibo position marks ("张0"), dropped here.
    """
    cut = max(line.rfind("\t"), line.rfind(" "))
    if cut < 0:
        raise InputError(path, f"no tag after the character in {quote(line)}", number)
    token, tag = line[:cut], line[cut + 1 :]
    if token not in (" ", "\t") and ("\t" in token or " " in token):  # " " alone: a space
        cause = f"expected 2 fields (character, tag), got more in {quote(line)}"
        raise InputError(path, cause, number)
    if len(token) != 1:
        mark = _MARKED_CHAR.fullmatch(token) if marked else None
        if not mark:
            cause = f"expected a single character before the tag, got {quote(token)}"
            if len(token) > 1 and not marked:
                cause += " (one character per line; this file has no position marks like 张0)"
            raise InputError(path, cause, number)
        token = mark.group(1)[0]
    if not _TAG.fullmatch(tag):
        cause = f"unknown tag {quote(tag)}; expected O, Ent or B-/I-/M-/E-/S-<type>"
        raise InputError(path, cause, number)
    return token, (tag if tag in ("O", "Ent") else tag[0])


def _read_cluener(path: Path) -> Read:
    sentences = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(path, f"invalid JSON: {e.msg} (column {e.colno})", number) from None
        try:
            sentences.append(_cluener_sentence(record))
        except ValueError as e:
            raise InputError(path, str(e), number) from None
    return sentences


def _cluener_sentence(record: Any) -> tuple[Sentence, int]:
    """One CLUENER record's sentence and the number of spans it dropped; ValueError names
    what is wrong."""
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    text = record["text"]
    if not text:
        raise ValueError('"text" is empty')
    spans = ((start, end + 1) for start, end in _cluener_spans(text, record.get("label") or {}))
    return _spans_sentence(text, spans)


def _spans_sentence(text: str, spans: Iterable[tuple[int, int]]) -> tuple[Sentence, int]:
    """The sentence with half-open ``spans`` as entities by the overlap rule, and the
    number of spans it dropped."""
    tags, kept_end, dropped = ["O"] * len(text), 0, 0
    for start, end in sorted(set(spans), key=lambda span: (span[0], -span[1])):
        if start < kept_end:
            dropped += 1
            continue
        tags[start:end] = ["B"] + ["I"] * (end - start - 1)
        kept_end = end
    return Sentence(text, tuple(tags)), dropped


def _cluener_spans(text: str, label: Any) -> Iterator[tuple[int, int]]:
    """Yield the inclusive (start, end) of every mention, checked against ``text``."""
    if not isinstance(label, dict):
        raise ValueError('"label" must be an object {type: {mention: [[start, end], ...]}}')
    for kind, mentions in label.items():
        if not isinstance(mentions, dict):
            raise ValueError(f"label {kind!r}: expected an object {{mention: [[start, end]]}}")
        for mention, spans in mentions.items():
            if not isinstance(spans, list):
                raise ValueError(f"label {kind!r}: spans of {mention!r} are not a list")
            for span in spans:
                yield _cluener_span(text, kind, mention, span)


def _cluener_span(text: str, kind: str, mention: str, span: Any) -> tuple[int, int]:
    if not (isinstance(span, list) and len(span) == 2 and all(type(i) is int for i in span)):
        raise ValueError(f"label {kind!r}: span {span!r} is not [start, end]")
    start, end = span
    if not 0 <= start <= end < len(text):
        raise ValueError(
            f"label {kind!r}: span [{start}, {end}] out of range for a text of "
            f"{len(text)} characters"
        )
    if text[start : end + 1] != mention:
        raise ValueError(
            f"label {kind!r}: text[{start}:{end + 1}] is {text[start : end + 1]!r}, "
            f"not the mention {mention!r}"
        )
    return start, end


def _read_label_studio(path: Path) -> Read:
    """Label Studio's JSON export: each task's first annotation that was not cancelled,
    else its first prediction. Errors name the line where the task starts."""
    content = "\n".join(line for _, line in read_lines(path))
    try:
        tasks = json.loads(content)
    except json.JSONDecodeError as e:
        raise InputError(path, f"invalid JSON: {e.msg} (column {e.colno})", e.lineno) from None
    if not isinstance(tasks, list):
        raise InputError(path, "expected a JSON list of tasks (Label Studio's JSON export)", 1)
    sentences = []
    for k, task in enumerate(tasks):
        try:
            sentences.append(_label_studio_sentence(task))
        except ValueError as e:
            raise InputError(path, f"task {k + 1}: {e}", _element_line(content, k)) from None
    return sentences


def _element_line(content: str, k: int) -> int:
    """The line where element ``k`` of the (valid) top-level JSON list starts."""
    decoder, at = json.JSONDecoder(), content.index("[") + 1
    for _ in range(k + 1):
        at += len(content[at:]) - len(content[at:].lstrip(" \t\r\n,"))
        start = at
        _, at = decoder.raw_decode(content, at)
    return content.count("\n", 0, start) + 1


def _label_studio_sentence(task: Any) -> tuple[Sentence, int]:
    data = task.get("data") if isinstance(task, dict) else None
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str):
        raise ValueError('expected a task object with a string "data.text"')
    if not text:
        raise ValueError('"data.text" is empty')
    return _spans_sentence(text, _label_studio_regions(task, text))


def _label_studio_results(task: dict) -> list[Any]:
    annotations = [
        a
        for a in task.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    chosen = annotations or [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    if not chosen:
        raise ValueError("no annotation or prediction (label it, or leave it out of the export)")
    result = chosen[0].get("result")
    if not isinstance(result, list):
        raise ValueError('"result" is not a list')
    return result


def _label_studio_regions(task: dict, text: str) -> Iterator[tuple[int, int]]:
    """Half-open (start, end) of every ``labels`` region, checked against ``text``."""
    for region in _label_studio_results(task):
        if not isinstance(region, dict) or region.get("type") != "labels":
            continue  # other controls (choices, text areas, relations) mark no characters
        value = region.get("value")
        if not isinstance(value, dict):
            raise ValueError('a "labels" region has no "value" object')
        start, end = value.get("start"), value.get("end")
        if not (type(start) is int and type(end) is int and 0 <= start < end <= len(text)):
            raise ValueError(
                f"region start {start!r}, end {end!r} is not a span of a text of "
                f"{len(text)} characters"
            )
        if "text" in value and value["text"] != text[start:end]:
            raise ValueError(
                f"region [{start}, {end}) says {value['text']!r} but the text there is "
                f"{text[start:end]!r}"
            )
        yield start, end
