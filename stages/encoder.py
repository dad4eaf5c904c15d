"""encoder: materialise ``model.name`` as a local Hugging Face folder."""

from pathlib import Path

from enttag.params import load_section
from enttag.pretrained.materialize import materialize_encoder
from enttag.stage import run


def main() -> None:
    cfg = load_section("model")
    materialize_encoder(cfg.name, Path("models/encoder"))


if __name__ == "__main__":
    run(main)
