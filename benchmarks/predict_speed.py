"""Speed, memory, size and test Ent F1 of every way enttag can tag, side by side.

One run, the SAME texts, the same machine and threads (the CPU; torch and ONNX Runtime
use every core this process may run on). Each path returns "Ent"/"O" per character
(argmax: P(Ent) >= 0.5), timed from the raw strings:

- ``naive``: the baseline a user of Hugging Face's ``pipeline("token-classification")``
  writes by hand: one text per forward pass of the torch fp32 model, padded to
  ``max_length`` (a longer text: enttag's windows, one per forward pass).
- ``torch fp32``: ``Tagger.load(model.pkl)``: all texts cut into windows at once, sorted
  by length into batches of ``--batch-size``, each padded to its longest window.
- ``torch int8``: the same with ``nn.Linear`` quantised to dynamic int8 on load.
- ``onnx fp32`` / ``onnx int8``: ``Tagger.load(export folder)``, the graph written by
  ``enttag export`` (``--int8``: ONNX Runtime's dynamic quantisation), run by ONNX
  Runtime; windows, batching and stitching are the same code as torch's.

Figures: characters/s over the texts (best of ``--repeats`` passes); latency of one short
text (median of ``--latency-runs`` calls); peak resident memory of a fresh process that
loads the path and tags the first 100 texts (``ru_maxrss``); model size on disk; and Ent
F1 on the first ``--f1-n`` sentences of the test split (gold labels of the .jsonl). The
paths take turns pass by pass, so a change in machine load hits them alike. Each int8
path's Ent F1 minus its fp32 path's comes with a paired sentence-bootstrap interval
(``enttag.report.bootstrap.summary``, the same resampled sentences for both).

    python benchmarks/predict_speed.py                      # models/model.pkl, test split
    python benchmarks/predict_speed.py --model m.pkl --onnx models/onnx --n 1000 --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
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
from enttag.report.bootstrap import summary
from enttag.tagging.backends import cpu_threads
from enttag.tagging.export import GRAPH, META, export
from enttag.tagging.predict import read_lines
from enttag.tagging.tagger import Tagger

SHORT_TEXT = "张三在北京大学工作。"
PATHS = ("naive", "torch_fp32", "torch_int8", "onnx_fp32", "onnx_int8")
LABEL = {
    "naive": "naive, one text a pass",
    "torch_fp32": "torch fp32 Tagger",
    "torch_int8": "torch int8 Tagger",
    "onnx_fp32": "ONNX fp32 Tagger",
    "onnx_int8": "ONNX int8 Tagger",
}
INT8_PAIRS = {"torch_int8": "torch_fp32", "onnx_int8": "onnx_fp32"}
MEMORY_TEXTS = 100
CHECK_TEXTS = 100  # texts the naive loop tags again to check it computes what the Tagger does


class NaiveTagger:
    """The baseline: one text (one window) per forward pass, padded to max_length."""

    def __init__(self, tagger: Tagger):
        self.t = tagger
        self.model = tagger.backend.model
        self.device = tagger.backend.device

    @torch.no_grad()
    def probs(self, text: str) -> np.ndarray:
        t, specials = self.t, self.t.specials
        ids = [t.char_map.get(c, specials.unk) for c in text]
        p_ent = np.empty(len(text), dtype=np.float32)
        for start, end, score_start, score_end in window_bounds(
            len(text), t.max_length - 2, t.stride
        ):
            window = [specials.cls, *ids[start:end], specials.sep]
            mask = [1] * len(window) + [0] * (t.max_length - len(window))
            window += [specials.pad] * (t.max_length - len(window))
            hidden = self.model.encoder(
                input_ids=torch.tensor([window], device=self.device),
                attention_mask=torch.tensor([mask], device=self.device),
            )
            logits = self.model.head(hidden.last_hidden_state)[0]
            probs = torch.softmax(logits, dim=-1)[1 : end - start + 1, 0].cpu().numpy()
            p_ent[score_start:score_end] = probs[score_start - start : score_end - start]
        return p_ent

    def tag(self, texts: Sequence[str]) -> list[list[str]]:
        return [[LABELS[0 if p >= 0.5 else 1] for p in self.probs(text)] for text in texts]


def load_rows(path: Path, n: int | None) -> list[dict]:
    """The first ``n`` non-empty rows: a ``.jsonl`` file's objects, else ``{"text": line}``."""
    try:
        with open(path, "rb") as f:
            lines = list(islice((line for line in read_lines(f, str(path)) if line.strip()), n))
    except OSError as e:
        raise EnttagError(f"{path}: cannot read texts: {e.strerror}") from None
    rows = [json.loads(line) for line in lines] if path.suffix == ".jsonl" else lines
    rows = [r if isinstance(r, dict) else {"text": r} for r in rows]
    if not rows:
        raise EnttagError(f"{path}: no texts")
    return rows


def load_path(name: str, model: Path, onnx_dir: Path) -> Tagger:
    backend, precision = name.split("_") if name != "naive" else ("torch", "fp32")
    return Tagger.load(
        onnx_dir if backend == "onnx" else model, "cpu", backend=backend, int8=precision == "int8"
    )


def tag_function(name: str, tagger: Tagger, batch_size: int) -> Callable[[Sequence[str]], object]:
    if name == "naive":
        return NaiveTagger(tagger).tag
    return partial(tagger.tag, batch_size=batch_size)


def interleaved(paths: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Seconds of ``runs`` calls of each path, taking turns so that load drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(runs):
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def size_on_disk(name: str, tagger: Tagger, model: Path, onnx_dir: Path) -> int:
    if name.startswith("onnx"):
        return sum((onnx_dir / f).stat().st_size for f in (GRAPH[name.endswith("int8")], META))
    if name == "torch_int8":  # what saving the quantised model would take
        buffer = io.BytesIO()
        torch.save(tagger.backend.net.state_dict(), buffer)
        return buffer.tell()
    return model.stat().st_size


def peak_memory_mb(name: str, args: argparse.Namespace) -> float:
    """Peak RSS of a fresh process that loads ``name`` and tags the first texts."""
    argv = [sys.executable, __file__, "--probe", name, "--model", str(args.model)]
    argv += ["--onnx", str(args.onnx), "--data", str(args.data), "--n", str(MEMORY_TEXTS)]
    argv += ["--batch-size", str(args.batch_size)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EnttagError(f"memory probe of {name} failed: {done.stderr.strip()[-300:]}")
    return float(done.stdout.split()[-1])


def probe(args: argparse.Namespace) -> int:
    """``--probe NAME``: load one path, tag the texts, print the peak RSS in MB."""
    tagger = load_path(args.probe, args.model, args.onnx)
    texts = [r["text"] for r in load_rows(args.data, args.n)]
    tag_function(args.probe, tagger, args.batch_size)(texts)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
    return 0


def ent_scores(
    taggers: dict[str, Tagger], rows: list[dict], batch_size: int, n_boot: int
) -> dict[str, dict]:
    """Ent F1 of each Tagger path on ``rows``; int8 minus fp32 with a paired interval."""
    texts = [r["text"] for r in rows]
    gold = [np.array([LABELS.index(x) for x in r["labels"]]) for r in rows]
    pred = {
        name: [(p < 0.5).astype(np.int64) for p in t.probs(texts, batch_size)]  # 0 = Ent
        for name, t in taggers.items()
    }
    out = {}
    for name in taggers:
        base = INT8_PAIRS.get(name)
        s = summary(gold, pred[name], n_boot=n_boot, seed=0, baseline_seqs=pred.get(base))
        out[name] = {"ent_f1": s["ent_f1"], "ent_f1_ci": s["ent_f1_ci"]}
        if base:
            out[name]["vs"] = base
            out[name]["ent_f1_diff"] = s["baseline_lift"]["ent_f1_diff"]
            out[name]["ent_f1_diff_ci"] = s["baseline_lift"]["ci"]
    return out


def measure(args: argparse.Namespace) -> dict:
    rows = load_rows(args.data, args.n)
    texts = [r["text"] for r in rows]
    taggers = {name: load_path(name, args.model, args.onnx) for name in PATHS[1:]}
    tag_owner = {name: taggers.get(name, taggers["torch_fp32"]) for name in PATHS}
    tag = {name: tag_function(name, tag_owner[name], args.batch_size) for name in PATHS}
    for run in tag.values():
        run(texts[:8])  # warm-up
    n_chars = sum(map(len, texts))
    passes = interleaved({k: partial(run, texts) for k, run in tag.items()}, args.repeats)
    one = {k: partial(run, [args.short_text]) for k, run in tag.items()}
    short = interleaved(one, args.latency_runs)
    naive = NaiveTagger(taggers["torch_fp32"])
    probs = {name: np.concatenate(t.probs(texts, args.batch_size)) for name, t in taggers.items()}
    probs["naive"] = np.concatenate([naive.probs(text) for text in texts[:CHECK_TEXTS]])
    figures = {
        name: {
            "chars_per_s": n_chars / min(passes[name]),
            "latency_ms": 1000 * statistics.median(short[name]),
            "peak_rss_mb": peak_memory_mb(name, args) if args.memory else None,
            "size_mb": size_on_disk(name, tag_owner[name], args.model, args.onnx) / 2**20,
            "max_abs_prob_diff": float(
                np.abs(probs[name] - probs["torch_fp32"][: len(probs[name])]).max()
            ),
        }
        for name in PATHS
    }
    f1_rows = load_rows(args.f1_data, args.f1_n) if args.f1_n != 0 else []
    if f1_rows and "labels" in f1_rows[0]:
        scores = ent_scores(taggers, f1_rows, args.batch_size, args.bootstrap)
        for name, s in scores.items():
            figures[name].update(s)
    return {
        "model": str(args.model),
        "onnx": str(args.onnx),
        "data": str(args.data),
        "texts": len(texts),
        "characters": n_chars,
        "f1_sentences": len(f1_rows),
        "cpu_cores": cpu_threads(),
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "max_length": taggers["torch_fp32"].max_length,
        "layers": taggers["torch_fp32"].backend.model.encoder.config.num_hidden_layers,
        "hidden_size": taggers["torch_fp32"].backend.model.encoder.config.hidden_size,
        "paths": figures,
    }


def table(r: dict) -> str:
    rows = [
        f"model {r['model']}: {r['layers']} layers, hidden {r['hidden_size']}, "
        f"max_length {r['max_length']}; ONNX export {r['onnx']}",
        f"speed: {r['texts']} texts, {r['characters']} characters from {r['data']}; "
        f"Ent F1: {r['f1_sentences']} sentences",
        f"CPU, {r['cpu_cores']} cores, {r['torch_threads']} torch threads, batch {r['batch_size']}",
        "",
        "| path | chars/s | x naive | latency ms | peak RSS MB | size MB | max dP | test Ent F1 "
        "| int8 - fp32 Ent F1 [95% paired CI] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    base = r["paths"]["naive"]["chars_per_s"]
    for name, f in r["paths"].items():
        f1 = f"{f['ent_f1']:.4f}" if "ent_f1" in f else "= torch fp32" if name == "naive" else "-"
        diff = ""
        if "ent_f1_diff" in f:
            lo, hi = f["ent_f1_diff_ci"]
            diff = f"{f['ent_f1_diff']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
        rows.append(
            f"| {LABEL[name]} | {f['chars_per_s']:.0f} | {f['chars_per_s'] / base:.1f} "
            f"| {f['latency_ms']:.1f} | {f['peak_rss_mb'] or 0:.0f} | {f['size_mb']:.1f} "
            f"| {f['max_abs_prob_diff']:.1e} | {f1} | {diff} |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("models/model.pkl"))
    parser.add_argument(
        "--onnx",
        type=Path,
        help="an `enttag export --int8` folder of --model (default: exported to a temp folder)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data/prepared/test.jsonl"),
        help='a .jsonl file with a "text" per line, or one text per line',
    )
    parser.add_argument("--n", type=int, default=1000, help="texts to time (default: %(default)s)")
    parser.add_argument(
        "--f1-data", type=Path, help='.jsonl with "text" and "labels" (default: --data)'
    )
    parser.add_argument(
        "--f1-n", type=int, default=None, help="sentences scored for Ent F1 (default: all; 0: none)"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per batch")
    parser.add_argument("--repeats", type=int, default=3, help="throughput passes; best kept")
    parser.add_argument("--latency-runs", type=int, default=30, help="short-text calls; median")
    parser.add_argument("--short-text", default=SHORT_TEXT)
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures here")
    parser.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure peak memory (one fresh process per path; default: on)",
    )
    parser.add_argument("--probe", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.f1_data = args.f1_data or args.data
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe:
        return probe(args)
    with tempfile.TemporaryDirectory() as tmp:
        if args.onnx is None:
            args.onnx = export(args.model, Path(tmp) / "onnx", int8=True)
        result = measure(args)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(guarded("predict_speed", main))
