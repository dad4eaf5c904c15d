"""Throughput and latency of enttag's ``Tagger`` against a naive one-text-at-a-time baseline.

Every path runs the SAME model file (weights, character map, windowing) on the SAME
texts, in this one process, on the same device and threads (by default the CPU, with
torch using every core this process may run on), in fp32, under ``torch.no_grad``.
Each path returns "Ent"/"O" per character, timed from the raw strings.

- ``enttag``: ``Tagger.tag(texts)``. All texts are cut into windows at once; windows
  are sorted by length into batches of ``--batch-size`` and each batch is padded only
  to its longest window.
- ``naive padded`` (the baseline): what a user of Hugging Face's
  ``pipeline("token-classification")`` does by hand with ``padding="max_length"``: for
  each text on its own, one input id per character (the model's own character map,
  unknown characters as its unk id), ``[CLS] ... [SEP]``, padded to ``max_length``
  with an attention mask; one forward pass of the encoder (a ``transformers``
  ``AutoModel``) and the linear head; softmax, argmax, labels. A text longer than
  ``max_length - 2`` characters goes through the same windows as enttag's, one
  window per forward pass, so both paths tag every character exactly once.
- ``naive unpadded``: the same without padding (what ``pipeline()`` does with its
  default ``batch_size=1``), to separate the gain from batching from the gain from
  not padding.

Throughput: characters per second over the texts, best of ``--repeats`` passes.
Latency: median of ``--latency-runs`` calls on one short text. The paths take turns
(pass by pass, call by call), so a change in machine load hits them alike. The largest
|P(Ent) difference| between enttag and the baseline is reported as a check that
both compute the same thing (float noise only).

    python benchmarks/predict_speed.py                      # models/model.pkl, test split
    python benchmarks/predict_speed.py --model m.pkl --data texts.txt --n 200 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from enttag.encode.windows import window_bounds
from enttag.errors import EnttagError, guarded
from enttag.labels import LABELS
from enttag.model.tagger import Tagger
from enttag.predict import read_lines

SHORT_TEXT = "张三在北京大学工作。"


class NaiveTagger:
    """The baseline: one text (one window) per forward pass, optionally padded to max_length."""

    def __init__(self, tagger: Tagger, pad_to_max_length: bool):
        self.t, self.pad = tagger, pad_to_max_length

    @torch.no_grad()
    def probs(self, text: str) -> np.ndarray:
        t, specials = self.t, self.t.specials
        ids = [t.char_map.get(c, specials.unk) for c in text]
        p_ent = np.empty(len(text), dtype=np.float32)
        for start, end, score_start, score_end in window_bounds(
            len(text), t.max_length - 2, t.stride
        ):
            window = [specials.cls, *ids[start:end], specials.sep]
            mask = [1] * len(window)
            if self.pad:
                window += [specials.pad] * (t.max_length - len(window))
                mask += [0] * (t.max_length - len(mask))
            hidden = t.model.encoder(
                input_ids=torch.tensor([window], device=t.device),
                attention_mask=torch.tensor([mask], device=t.device),
            )
            logits = t.model.head(hidden.last_hidden_state)[0]
            probs = torch.softmax(logits, dim=-1)[1 : end - start + 1, 0].cpu().numpy()
            p_ent[score_start:score_end] = probs[score_start - start : score_end - start]
        return p_ent

    def tag(self, texts: Sequence[str]) -> list[list[str]]:
        """Argmax labels: Ent where P(Ent) >= 0.5."""
        return [[LABELS[0 if p >= 0.5 else 1] for p in self.probs(text)] for text in texts]


def load_texts(path: Path, n: int) -> list[str]:
    """The first ``n`` non-empty texts: a ``.jsonl`` file's ``"text"`` fields, else its lines."""
    try:
        with open(path, "rb") as f:
            lines = list(islice((line for line in read_lines(f, str(path)) if line.strip()), n))
    except OSError as e:
        raise EnttagError(f"{path}: cannot read texts: {e.strerror}") from None
    texts = [json.loads(line)["text"] for line in lines] if path.suffix == ".jsonl" else lines
    if not texts:
        raise EnttagError(f"{path}: no texts")
    return texts


def interleaved(paths: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` calls of each path, taking turns so that load drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(runs):
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def measure(tagger: Tagger, texts: list[str], args: argparse.Namespace) -> dict:
    """Figures for each path, the speed-ups over the padded baseline and the agreement check."""
    taggers: dict[str, Callable[[Sequence[str]], object]] = {
        "enttag": lambda ts: tagger.tag(ts, batch_size=args.batch_size),
        "naive_padded": NaiveTagger(tagger, pad_to_max_length=True).tag,
        "naive_unpadded": NaiveTagger(tagger, pad_to_max_length=False).tag,
    }
    for tag in taggers.values():
        tag(texts[:8])  # warm-up
    n_chars = sum(map(len, texts))
    passes = interleaved({k: partial(tag, texts) for k, tag in taggers.items()}, args.repeats)
    short = interleaved(
        {k: partial(tag, [args.short_text]) for k, tag in taggers.items()}, args.latency_runs
    )
    figures = {
        name: {
            "seconds": min(passes[name]),
            "chars_per_s": n_chars / min(passes[name]),
            "latency_ms": 1000 * statistics.median(short[name]),
        }
        for name in taggers
    }
    ours = np.concatenate(tagger.probs(texts, args.batch_size))
    naive = NaiveTagger(tagger, pad_to_max_length=True)
    theirs = np.concatenate([naive.probs(text) for text in texts])
    base = figures["naive_padded"]
    return {
        "model": str(args.model),
        "data": str(args.data),
        "texts": len(texts),
        "characters": n_chars,
        "device": str(tagger.device),
        "cpu_cores": (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "max_length": tagger.max_length,
        "layers": tagger.model.encoder.config.num_hidden_layers,
        "hidden_size": tagger.model.encoder.config.hidden_size,
        "paths": figures,
        "speedup_throughput": figures["enttag"]["chars_per_s"] / base["chars_per_s"],
        "speedup_latency": base["latency_ms"] / figures["enttag"]["latency_ms"],
        "max_abs_prob_diff": float(np.abs(ours - theirs).max()),
        "tag_mismatches": int(((ours >= 0.5) != (theirs >= 0.5)).sum()),
    }


def table(r: dict) -> str:
    rows = [
        f"model {r['model']}: {r['layers']} layers, hidden {r['hidden_size']}, "
        f"max_length {r['max_length']}",
        f"{r['texts']} texts, {r['characters']} characters from {r['data']}",
        f"device {r['device']}, {r['cpu_cores']} cores, {r['torch_threads']} torch threads",
        "",
        f"{'path':<28}{'chars/s':>12}{'latency ms':>12}",
    ]
    labels = {
        "enttag": f"enttag Tagger (batch {r['batch_size']})",
        "naive_padded": "naive, padded (baseline)",
        "naive_unpadded": "naive, unpadded",
    }
    for name, f in r["paths"].items():
        rows.append(f"{labels[name]:<28}{f['chars_per_s']:>12.0f}{f['latency_ms']:>12.2f}")
    rows += [
        "",
        f"enttag vs baseline: {r['speedup_throughput']:.1f}x throughput, "
        f"{r['speedup_latency']:.1f}x latency",
        f"max |P(Ent) difference| {r['max_abs_prob_diff']:.2e}, "
        f"characters tagged differently: {r['tag_mismatches']}",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("models/model.pkl"))
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/prepared/test.jsonl"),
        help='a .jsonl file with a "text" per line, or one text per line',
    )
    parser.add_argument("--n", type=int, default=200, help="texts to tag (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="enttag's windows per batch")
    parser.add_argument("--repeats", type=int, default=3, help="throughput passes; best kept")
    parser.add_argument("--latency-runs", type=int, default=30, help="short-text calls; median")
    parser.add_argument("--short-text", default=SHORT_TEXT)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tagger = Tagger.load(args.model, args.device)
    result = measure(tagger, load_texts(args.data, args.n), args)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(guarded("predict_speed", main))
