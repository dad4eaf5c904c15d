"""Resume checkpoints of the training loop, and stopping cleanly on SIGINT/SIGTERM.

A checkpoint holds everything the loop needs to continue as if never stopped:
model, optimiser and schedule states, the loop's position (step, epoch, next
batch), the best dev state so far, every RNG state, and dvclive's step, summary
and step files. It carries a fingerprint of the run (params of the train, model
and tokenize sections; md5 of every input file): only a checkpoint of the same
run is resumed, any other is discarded with one line.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from enttag.atomic import write_text, write_with
from enttag.model.network import save_bytes

FILE = "state.pt"
README = """# Resume checkpoint of the train stage

`state.pt` appears here while `train` runs (every `train.checkpoint_every` steps and at each dev
evaluation) and goes once the model is written. After a kill or Ctrl-C, run the same command to
resume; a checkpoint of other params, data or encoder is discarded.
"""
# Params that change when a checkpoint is written, not what the run computes.
NOT_IN_FINGERPRINT = {"train": ("checkpoint_every",)}


def fingerprint(params: dict[str, dict[str, Any]], inputs: list[Path]) -> str:
    """sha256 of the params (minus checkpoint cadence) and of each input file's path and md5."""
    digest = hashlib.sha256()
    kept = {
        name: {k: v for k, v in section.items() if k not in NOT_IN_FINGERPRINT.get(name, ())}
        for name, section in params.items()
    }
    digest.update(json.dumps(kept, sort_keys=True).encode())
    for root in inputs:
        files = sorted(p for p in Path(root).rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            with path.open("rb") as f:
                md5 = hashlib.file_digest(f, "md5").hexdigest()
            digest.update(f"{path.relative_to(root.parent)}\0{md5}\n".encode())
    return digest.hexdigest()


def rng_states() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) RNG states, as plain data ``torch.load`` reads safely."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class Checkpoints:
    """The resume checkpoint of one run, in ``folder``."""

    def __init__(self, folder: Path, params: dict[str, dict[str, Any]], inputs: list[Path]):
        self.path = Path(folder) / FILE
        self.fingerprint = fingerprint(params, inputs)
        write_text(self.path.with_name("README.md"), README)  # the folder stays a DVC output
        for stray in self.path.parent.glob(f".{FILE}.*.tmp"):  # from a write killed midway
            stray.unlink()

    def load(self) -> dict[str, Any] | None:
        """The checkpoint if it belongs to this run; else None (an old one is discarded)."""
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # a truncated or foreign file: discard, start over
            reason = f"unreadable ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})"
        else:
            if isinstance(saved, dict) and saved.get("fingerprint") == self.fingerprint:
                print(f"{self.path}: resuming at step {saved['progress']['step']}", file=sys.stderr)
                return saved
            reason = "written for other params, data or encoder"
        print(f"{self.path}: discarded, {reason}; starting from step 0", file=sys.stderr)
        self.path.unlink()
        return None

    def save(self, *, live, **states: Any) -> None:
        """Write the checkpoint atomically: a kill leaves the previous one or this one whole."""
        plots = Path(live.plots_dir)
        files = {
            str(p.relative_to(plots)): p.read_text(encoding="utf-8")
            for p in sorted(plots.rglob("*"))
            if p.is_file()
        }
        checkpoint = {
            "fingerprint": self.fingerprint,
            **states,
            "rng": rng_states(),
            "live": {"step": live.step, "summary": live.summary, "files": files},
        }
        write_with(self.path, lambda tmp: save_bytes(checkpoint, tmp))

    def restore(self, saved: dict[str, Any], live) -> None:
        """Put dvclive's step files, step and summary and every RNG state back as saved."""
        plots = Path(live.plots_dir)
        shutil.rmtree(plots, ignore_errors=True)  # rows logged after the checkpoint go
        for name, text in saved["live"]["files"].items():
            (plots / name).parent.mkdir(parents=True, exist_ok=True)
            write_text(plots / name, text)
        live.step = saved["live"]["step"]
        live.summary = saved["live"]["summary"]
        set_rng_states(saved["rng"])

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class StopSignals:
    """Within ``with``: SIGINT and SIGTERM set ``received`` instead of stopping at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        print(
            f"\n{signal.Signals(signum).name}: stopping after this step "
            "(a checkpoint will be written)",
            file=sys.stderr,
        )

    def __enter__(self) -> StopSignals:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
