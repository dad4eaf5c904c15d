"""evaluate: score dev and test; write the per-class report, verdict, spans and errors."""

import sys
from pathlib import Path

from enttag.params import load_section
from enttag.report.evaluate import evaluate_model, report_text
from enttag.stage import run


def main() -> None:
    results = evaluate_model(
        load_section("evaluate"),
        model_path=Path("models/model.pkl"),
        tagger_path=Path("models/tagger.pkl"),
        tokenized_dir=Path("data/tokenized"),
        prepared_dir=Path("data/prepared"),
        baseline_path=Path("data/baseline/p_ent.npz"),
        metrics_dir=Path("metrics"),
    )
    for split, scores in results.items():
        print(report_text(split, scores))
        if scores.metrics["verdict"] != "learned":
            print(
                f"WARNING: on {split} this run learned nothing useful: "
                f"{scores.metrics['verdict_reason']}",
                file=sys.stderr,
            )


if __name__ == "__main__":
    run(main)
