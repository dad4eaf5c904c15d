"""tokenize: one token id per character, long sentences as overlapping windows.

Named ``tokens.py``, not ``tokenize.py``: run by path (``python stages/tokens.py``) a
script named ``tokenize.py`` would shadow the standard library's ``tokenize``.
"""

import json
from pathlib import Path

from enttag.atomic import write_json
from enttag.encode.tokenized import check_positions, tokenize_corpus
from enttag.params import load_section
from enttag.stage import run


def main() -> None:
    cfg, model = load_section("tokenize"), load_section("model")
    check_positions(Path("models/encoder"), cfg.max_length)
    report = tokenize_corpus(
        Path("data/prepared"),
        Path("models/encoder"),
        Path("data/tokenized"),
        cfg,
        model.prune_vocab,
    )
    write_json(Path("metrics/tokenize.json"), report)
    print(
        json.dumps(
            {k: v for k, v in report.items() if k != "vocab"} | {"vocab": report["vocab"]},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    run(main, "tokenize")
