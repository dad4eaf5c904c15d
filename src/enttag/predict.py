"""Tag Chinese text with a trained model: entity spans, per-character tags or JSON lines.

Texts come from the command line, from --input FILE or from standard input, one
text per line (only the line ending is stripped; an empty line is an empty text).
Output is UTF-8, written as each chunk of texts is tagged. Spans are half-open
character offsets [start, end).

formats:
  spans  the text, then one indented "[start, end)  entity" line per span
  tags   one "char<TAB>Ent|O" line per character, a blank line between texts
  jsonl  {"text": ..., "spans": [[start, end, "Ent"], ...]} per text (+ "probs")
  html   one self-contained page: predicted entities highlighted, P(Ent) on hover
  label-studio  a JSON list of Label Studio tasks with the spans as pre-annotations

examples:
  enttag predict --model models/model.pkl "张三在北京大学工作。"
  enttag predict --input texts.txt --format jsonl --probs > tagged.jsonl
  cat texts.txt | enttag predict --format tags --threshold dev
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

import numpy as np

from enttag.errors import InputError
from enttag.formats import HTML, LABEL_STUDIO, Format
from enttag.scoring.spans import spans_from_probs, tags_from_probs

if TYPE_CHECKING:
    from enttag.model.tagger import Tagger

HELP = "tag text with a trained model (spans, tags, JSON lines, HTML or Label Studio)"
CHUNK = 1024  # texts tagged together; their windows are batched by length


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "texts",
        nargs="*",
        metavar="TEXT",
        help="texts to tag (default: --input, else standard input)",
    )
    parser.add_argument(
        "--model",
        default="models/model.pkl",
        help="model file written by the train stage (default: %(default)s)",
    )
    parser.add_argument("--input", metavar="FILE", help="UTF-8 file with one text per line")
    parser.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="spans",
        help="output format (default: %(default)s)",
    )
    parser.add_argument(
        "--probs", action="store_true", help="with --format jsonl: add P(Ent) of every character"
    )
    parser.add_argument(
        "--threshold",
        type=threshold_arg,
        default=None,
        help="P(Ent) cut, a number in [0, 1], or 'dev' for the model's "
        "dev-tuned one (default: 0.5, the argmax)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="windows per forward pass (default: %(default)s)",
    )


def threshold_arg(value: str) -> float | str:
    """``dev``, or a float in [0, 1]."""
    if value == "dev":
        return value
    try:
        cut = float(value)
    except ValueError:
        cut = float("nan")
    if not 0.0 <= cut <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'dev', got {value!r}")
    return cut


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    if args.probs and args.format != "jsonl":
        raise InputError("--probs", "needs --format jsonl")
    if args.texts and args.input:
        raise InputError("--input", "give texts on the command line or --input, not both")
    from enttag.model.tagger import Tagger  # torch: imported only when a model is used

    with open_texts(args.texts, args.input) as (texts, chunk):
        tagger = Tagger.load(args.model, args.device)
        dev = args.threshold == "dev"
        cut = tagger.cut(None if dev else args.threshold, use_dev_threshold=dev)
        try:
            write_all(
                utf8_stdout(),
                tagged(tagger, texts, chunk, args.batch_size),
                cut,
                args.format,
                args.probs,
            )
        except BrokenPipeError:  # the reader left (``| head``): stop without a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return 0


@contextmanager
def open_texts(texts: list[str], path: str | None) -> Iterator[tuple[Iterator[str], int]]:
    """The texts to tag and how many to tag at once (one at a time from a terminal)."""
    if texts:
        yield iter(texts), CHUNK
    elif path is not None:
        try:
            stream = open(path, "rb")
        except OSError as e:
            raise InputError(path, f"cannot read file: {e.strerror}") from None
        with stream:
            yield read_lines(stream, path), CHUNK
    elif sys.stdin is None:
        raise InputError("<stdin>", "no standard input: give texts or --input")
    else:
        interactive = sys.stdin.isatty()
        yield (
            read_lines(getattr(sys.stdin, "buffer", sys.stdin), "<stdin>"),
            (1 if interactive else CHUNK),
        )


def read_lines(stream: Iterable[bytes | str], name: str) -> Iterator[str]:
    """UTF-8 lines without their LF or CRLF (and without a leading byte-order mark)."""
    try:
        for number, raw in enumerate(stream, start=1):
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if number == 1:
                line = line.removeprefix("\ufeff")
            yield line.removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError as e:
        raise InputError(name, f"not UTF-8: {e.reason}", number) from None
    except OSError as e:
        raise InputError(name, f"cannot read: {e.strerror}") from None


def tagged(
    tagger: Tagger, texts: Iterator[str], chunk: int, batch_size: int
) -> Iterator[tuple[str, np.ndarray]]:
    """``(text, P(Ent) per character)``, tagging ``chunk`` texts at a time."""
    while batch := [text for _, text in zip(range(chunk), texts, strict=False)]:
        yield from zip(batch, tagger.probs(batch, batch_size), strict=True)


def utf8_stdout() -> IO[str]:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")
    return sys.stdout


def write_all(
    out: IO[str], items: Iterable[tuple[str, np.ndarray]], cut: float, fmt: str, with_probs: bool
) -> None:
    form = FORMATS[fmt]
    out.write(form.head)
    for i, (text, p_ent) in enumerate(items):
        out.write((form.separator if i else "") + form.block(text, p_ent, cut, with_probs))
        out.flush()
    out.write(form.tail)


def spans_block(text: str, p_ent: np.ndarray, cut: float, _: bool) -> str:
    spans = spans_from_probs(text, p_ent, cut)
    lines = [text, *(f"  [{s}, {e})  {entity}" for s, e, entity in spans)]
    return "".join(line + "\n" for line in lines)


def tags_block(text: str, p_ent: np.ndarray, cut: float, _: bool) -> str:
    return "".join(f"{c}\t{t}\n" for c, t in zip(text, tags_from_probs(p_ent, cut), strict=True))


def json_line(text: str, p_ent: np.ndarray, cut: float, with_probs: bool) -> str:
    spans = [[s, e, "Ent"] for s, e, _ in spans_from_probs(text, p_ent, cut)]
    row: dict[str, object] = {"text": text, "spans": spans}
    if with_probs:
        row["probs"] = [round(p, 6) for p in p_ent.tolist()]
    return json.dumps(row, ensure_ascii=False) + "\n"


FORMATS: dict[str, Format] = {
    "spans": Format(spans_block, "\n"),
    "tags": Format(tags_block, "\n"),
    "jsonl": Format(json_line, ""),
    "html": HTML,
    "label-studio": LABEL_STUDIO,
}
