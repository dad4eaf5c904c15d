"""train: fine-tune the encoder + linear head; keep the best dev checkpoint.

Killed or interrupted, it leaves ``checkpoints/train/state.pt``: the same command resumes.
With ``train.processes`` > 1 it re-executes itself under torchrun (data-parallel).
"""

from pathlib import Path

from enttag.params import load_section
from enttag.stage import run
from enttag.training.distributed import relaunch
from enttag.training.loop import train


def main() -> None:
    cfg = load_section("train")
    relaunch(cfg.processes, "stages.train")
    summary = train(
        cfg,
        load_section("model"),
        tokenized_dir=Path("data/tokenized"),
        encoder_dir=Path("models/encoder"),
        model_path=Path("models/model.pkl"),
        live_dir=Path("dvclive"),
        timing_path=Path("metrics/timing.json"),
        checkpoint_dir=Path("checkpoints/train"),
    )
    if summary is not None:  # rank 0 (or the only process)
        print(summary)


if __name__ == "__main__":
    run(main)
