"""train: fine-tune the encoder + linear head; keep the best dev checkpoint."""

from pathlib import Path

from enttag.model.train import train
from enttag.params import load_section
from enttag.stage import run


def main() -> None:
    summary = train(
        load_section("train"),
        load_section("model"),
        load_section("tokenize"),
        tokenized_dir=Path("data/tokenized"),
        encoder_dir=Path("models/encoder"),
        model_path=Path("models/model.pkl"),
        live_dir=Path("dvclive"),
        timing_path=Path("metrics/timing.json"),
    )
    print(summary)


if __name__ == "__main__":
    run(main)
