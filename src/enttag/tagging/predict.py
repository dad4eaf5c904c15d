"""Tag Chinese text with a trained model: entity spans, per-character tags or JSON lines.

Texts come from the command line, from --input FILE or from standard input, one
text per line (only the line ending is stripped; an empty line is an empty text).
Input streams: it is read in chunks as it arrives and each chunk is tagged and
written at once, so memory stays flat on any size and a pipe gets answers while it is
still open; lines keep their order and count. Output is UTF-8, to standard output or
to --output FILE (written atomically: complete or absent). On a terminal a progress
bar (characters/s) goes to standard error. Spans are half-open offsets [start, end).

--model takes a .pkl (torch backend) or a folder written by `enttag export` (onnx
backend); --int8 runs int8 weights (torch: quantised on load; onnx: the export's
model.int8.onnx).

formats:
  spans  the text, then one indented "[start, end)  entity" line per span
  tags   one "char<TAB>Ent|O" line per character (B-Ent|I-Ent|O from a B/I/O model),
         a blank line between texts
  jsonl  {"text": ..., "spans": [[start, end, "Ent"], ...]} per text (+ "probs", and
         "p_begin", P(B | Ent), from a B/I/O model)
  html   one self-contained page: predicted entities highlighted, P(Ent) on hover
  label-studio  a JSON list of Label Studio tasks with the spans as pre-annotations

examples:
  enttag predict --model models/tagger.pkl "张三在北京大学工作。"
  enttag predict --input texts.txt --format jsonl --probs > tagged.jsonl
  cat texts.txt | enttag predict --format tags --threshold dev
  enttag predict --model models/onnx --int8 --input big.txt --output big.tagged
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO, TYPE_CHECKING

import numpy as np

from enttag.atomic import atomic_path
from enttag.errors import InputError
from enttag.formats import HTML, LABEL_STUDIO, Format
from enttag.labels import spans_from_probs, tags_from_probs

if TYPE_CHECKING:
    from enttag.tagging.tagger import Tagger

HELP = "tag text with a trained model (spans, tags, JSON lines, HTML or Label Studio)"
CHUNK = 1024  # most texts tagged together; their windows are batched by length
READ_BYTES = 1 << 16  # bytes read at a time from a file or pipe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "texts",
        nargs="*",
        metavar="TEXT",
        help="texts to tag (default: --input, else standard input)",
    )
    parser.add_argument(
        "--model",
        default="models/tagger.pkl",
        help="model file: the shipped tagger (fuse stage) or models/model.pkl, the encoder "
        "alone; or an `enttag export` folder (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="what runs the network (default: onnx for a folder, torch for a file)",
    )
    parser.add_argument("--int8", action="store_true", help="int8 weights (see above)")
    parser.add_argument("--input", metavar="FILE", help="UTF-8 file with one text per line")
    parser.add_argument(
        "--output", metavar="FILE", help="write here (atomically) instead of standard output"
    )
    parser.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="spans",
        help="output format (default: %(default)s)",
    )
    parser.add_argument(
        "--probs",
        action="store_true",
        help="with --format jsonl: add P(Ent) (and a B/I/O model's P(B | Ent)) of every character",
    )
    parser.add_argument(
        "--threshold",
        type=threshold_arg,
        default=None,
        help="P(Ent) cut, a number in [0, 1], or 'dev' for the model's "
        "dev-tuned one (default: a fused tagger's own cut, chosen on dev; else 0.5, the argmax)",
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
    from enttag.tagging.tagger import Tagger  # torch: imported only when a model is used

    with open_texts(args.texts, args.input) as chunks, open_output(args.output) as out:
        tagger = Tagger.load(args.model, args.device, backend=args.backend, int8=args.int8)
        dev = args.threshold == "dev"
        cut = tagger.cut(None if dev else args.threshold, use_dev_threshold=dev)
        try:
            write_all(out, tagged(tagger, chunks, args.batch_size), cut, args.format, args.probs)
        except BrokenPipeError:  # the reader left (``| head``): stop without a traceback
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    if unknown := tagger.lookup.report():
        print(f"enttag predict: {unknown}", file=sys.stderr)
    return 0


@contextmanager
def open_texts(texts: list[str], path: str | None) -> Iterator[Iterator[list[str]]]:
    """The texts to tag, in chunks as they arrive (see :func:`read_chunks`)."""
    if texts:
        yield iter([texts])
    elif path is not None:
        try:
            stream = open(path, "rb")
        except OSError as e:
            raise InputError(path, f"cannot read file: {e.strerror}") from None
        with stream:
            yield read_chunks(stream, path)
    elif sys.stdin is None:
        raise InputError("<stdin>", "no standard input: give texts or --input")
    else:
        yield read_chunks(getattr(sys.stdin, "buffer", sys.stdin), "<stdin>")


@contextmanager
def open_output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or ``path`` written atomically (only a complete run replaces it)."""
    if path is None:
        yield utf8_stdout()
        return
    try:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
            yield out
    except OSError as e:
        raise InputError(path, f"cannot write: {e.strerror}") from None


def read_chunks(stream: IO[bytes] | Iterable[str], name: str) -> Iterator[list[str]]:
    """Lists of at most CHUNK lines, each handed on as soon as its bytes have arrived.

    A binary stream is read READ_BYTES at a time with ``read1`` (which returns what a
    pipe or terminal holds without waiting for more), so a pipe's lines are tagged
    while it is still open and memory stays flat (a line is kept whole, however long).
    Any other iterable of lines is cut into CHUNK lines at a time.
    """
    if not hasattr(stream, "read1"):
        lines = read_lines(stream, name)
        while chunk := list(islice(lines, CHUNK)):
            yield chunk
        return
    pending, number = bytearray(), 0
    while True:
        try:
            data = stream.read1(READ_BYTES)
        except OSError as e:
            raise InputError(name, f"cannot read: {e.strerror}") from None
        pending += data
        end = len(pending) if not data else pending.rfind(b"\n") + 1
        raws = bytes(pending[:end]).split(b"\n")
        if data or raws[-1] == b"":
            raws.pop()  # after the last LF (more may come), or nothing after a final LF
        del pending[:end]
        for first in range(0, len(raws), CHUNK):
            chunk = []
            for raw in raws[first : first + CHUNK]:
                number += 1
                chunk.append(decode_line(raw, name, number))
            yield chunk
        if not data:
            return


def read_lines(stream: Iterable[bytes | str], name: str) -> Iterator[str]:
    """UTF-8 lines without their LF or CRLF (and without a leading byte-order mark)."""
    try:
        for number, raw in enumerate(stream, start=1):
            yield decode_line(raw, name, number)
    except OSError as e:
        raise InputError(name, f"cannot read: {e.strerror}") from None


def decode_line(raw: bytes | str, name: str, number: int) -> str:
    """Line ``number`` as text, without LF/CRLF (nor a byte-order mark on line 1)."""
    try:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise InputError(name, f"not UTF-8: {e.reason} at byte {e.start + 1}", number) from None
    if number == 1:
        line = line.removeprefix("\ufeff")
    return line.removesuffix("\n").removesuffix("\r")


def tagged(
    tagger: Tagger, chunks: Iterable[list[str]], batch_size: int
) -> Iterator[tuple[str, np.ndarray, np.ndarray | None]]:
    """``(text, P(Ent), P(B | Ent) or None)`` per character (None from an Ent/O tagger),
    one chunk at a time; a progress bar on a terminal."""
    from tqdm import tqdm

    with tqdm(desc="tagging", unit="char", unit_scale=True, disable=None) as bar:
        for chunk in chunks:
            for text, p in zip(chunk, tagger.outputs(chunk, batch_size), strict=True):
                yield text, p[:, 0], p[:, 1] if tagger.tags == "bio" else None
            bar.update(sum(map(len, chunk)))


def utf8_stdout() -> IO[str]:
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")
    return sys.stdout


def write_all(
    out: IO[str],
    items: Iterable[tuple[str, np.ndarray, np.ndarray | None]],
    cut: float,
    fmt: str,
    with_probs: bool,
) -> None:
    form = FORMATS[fmt]
    out.write(form.head)
    for i, (text, p_ent, p_begin) in enumerate(items):
        block = form.block(text, p_ent, p_begin, cut, with_probs)
        out.write((form.separator if i else "") + block)
        out.flush()
    out.write(form.tail)


def spans_block(
    text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, _: bool
) -> str:
    spans = spans_from_probs(text, p_ent, cut, p_begin)
    lines = [text, *(f"  [{s}, {e})  {entity}" for s, e, entity in spans)]
    return "".join(line + "\n" for line in lines)


def tags_block(
    text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, _: bool
) -> str:
    tags = tags_from_probs(p_ent, cut, p_begin)
    return "".join(f"{c}\t{t}\n" for c, t in zip(text, tags, strict=True))


def json_line(
    text: str, p_ent: np.ndarray, p_begin: np.ndarray | None, cut: float, with_probs: bool
) -> str:
    spans = [[s, e, "Ent"] for s, e, _ in spans_from_probs(text, p_ent, cut, p_begin)]
    row: dict[str, object] = {"text": text, "spans": spans}
    if with_probs:
        row["probs"] = [round(p, 6) for p in p_ent.tolist()]
        if p_begin is not None:
            row["p_begin"] = [round(p, 6) for p in p_begin.tolist()]
    return json.dumps(row, ensure_ascii=False) + "\n"


FORMATS: dict[str, Format] = {
    "spans": Format(spans_block, "\n"),
    "tags": Format(tags_block, "\n"),
    "jsonl": Format(json_line, ""),
    "html": HTML,
    "label-studio": LABEL_STUDIO,
}
