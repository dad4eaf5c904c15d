"""The entity view (HTML of gold against predicted spans) and the Label Studio round trip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from support.corpus import tiny_sentences, write_conll

from enttag.cli import main
from enttag.data.readers import read_corpus
from enttag.errors import InputError
from enttag.experiments.entity_view import (
    ViewSentence,
    errors_page,
    errors_svg,
    render,
    span_classes,
)
from enttag.formats import label_studio_task
from enttag.labels import ENT, bio_spans, spans, spans_from_probs, tag_ids
from enttag.report.spans import Tagged, view_rows, worst_sentences


class SpanCounter(HTMLParser):
    """Text of the page's sentence cells, and the marked spans per table row."""

    def __init__(self):
        super().__init__()
        self.rows, self.marked, self.texts, self.in_text = 0, set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.rows += tag == "tr"
        if self.in_text:
            self.in_text += tag == "span"
        elif tag == "td" and attrs.get("class") == "text":
            self.in_text, _ = 1, self.texts.append("")
        for kind in ("data-gold", "data-pred"):
            if kind in attrs:
                self.marked.add((self.rows, kind, attrs[kind]))

    def handle_endtag(self, tag):
        if self.in_text and tag in ("span", "td"):
            self.in_text -= 1

    def handle_data(self, data):
        if self.in_text:
            self.texts[-1] += data


def parse(page: str) -> SpanCounter:
    counter = SpanCounter()
    counter.feed(page)
    return counter


def test_text_is_escaped_and_shown_once():
    text = '<script>alert("x")</script> A&B 北京'
    city = (text.index("北京"), len(text))
    s = ViewSentence(text, [(0, 8), city], [0.1] * len(text), gold=[city])
    page = render("t <b>", "i & j", [("h", [s])])
    assert "<script>" not in page and "<b>" not in page
    assert ">&lt;</span>" in page and ">&amp;</span>" in page and "&quot;" in page
    counter = parse(page)
    assert counter.texts == [text]
    assert len(counter.marked) == 3  # gold 北京, predicted 北京, predicted <script>
    assert "http" not in page and "src=" not in page  # self-contained: nothing to fetch


def test_span_classes_tell_misses_spurious_and_boundaries():
    text = "张三在北京大学工作，李四在上海"
    s = ViewSentence(
        text,
        pred=[(0, 2), (3, 5), (8, 9)],  # exact, too short, spurious
        p_ent=[0.5] * len(text),
        gold=[(0, 2), (3, 7), (10, 12)],  # hit, hit (boundary), missed
    )
    gold, pred = span_classes(s)
    assert gold == ["g", "g", "g missed"]
    assert pred == ["p exact", "p boundary", "p spurious"]
    page = render("t", "i", [("h", [s])])
    assert 'title="P(Ent) 0.500"' in page
    assert len(parse(page).marked) == 6


def test_view_rows_add_probs_and_a_seeded_sample_of_correct_sentences():
    texts = ["张三来了", "李四", "王五走了", "北京", "上海"]
    gold = [np.array(x) for x in ([0, 0, 1, 1], [0, 0], [0, 0, 1, 1], [0, 0], [0, 0])]
    pred = [np.array(x) for x in ([0, 1, 1, 1], [0, 0], [0, 0, 1, 1], [1, 1], [0, 0])]
    probs = [np.where(p == ENT, 0.9, 0.1) for p in pred]
    tagged = Tagged(texts, gold, pred, [spans(g) for g in gold])
    worst = worst_sentences(tagged, 10)
    rows = view_rows(worst, tagged, probs, n_correct=2, seed=0)
    assert rows[: len(worst)] == [
        w | {"p_ent": [round(p, 3) for p in probs[w["index"]]]} for w in worst
    ]
    correct = rows[len(worst) :]
    assert len(correct) == 2 and all(r["errors"] == 0 for r in correct)
    assert [r["index"] for r in correct] == sorted(r["index"] for r in correct)
    again = view_rows(worst, tagged, probs, n_correct=2, seed=0)
    assert again == rows
    counter = parse(errors_page(rows))
    assert counter.texts == [r["text"] for r in rows]
    assert len(counter.marked) == sum(len(r["gold_spans"]) + len(r["pred_spans"]) for r in rows)
    svg = ElementTree.fromstring(errors_svg(rows))  # well-formed XML, for dvc plots
    cells = svg.iter("{http://www.w3.org/1999/xhtml}td")
    texts = ["".join(td.itertext()) for td in cells if td.get("class") == "text"]
    assert texts == [r["text"] for r in rows]


def test_touching_gold_entities_show_as_two_with_a_bar_between():
    text = "他在北京上海工作"
    gold = [np.array([1, 1, 0, 0, 0, 0, 1, 1])]
    entities = [bio_spans(tag_ids(list("OOBIBIOO")))]
    tagged = Tagged([text], gold, gold, entities)  # an Ent/O run over both: a merge
    rows = view_rows(worst_sentences(tagged, 5), tagged, [np.full(8, 0.9)], n_correct=0, seed=0)
    assert [r["gold_spans"] for r in rows] == [[[2, 4, "北京"], [4, 6, "上海"]]]
    assert rows[0]["pred_spans"] == [[2, 6, "北京上海"]]
    page = errors_page(rows)
    assert "0 character errors; merged 1" in page
    marks = re.findall(r'<span class="([^"]+)" data-(gold|pred)="(\d)">', page)
    assert marks == [("g", "gold", "0"), ("p boundary", "pred", "0")] + [
        ("g joined", "gold", "1"),
        ("p boundary", "pred", "0"),
    ]
    assert ".joined { border-left: 2px solid #222; }" in page
    assert parse(page).texts == [text]


def write_tasks(path: Path, tasks: list) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_label_studio_round_trip_of_the_tiny_corpus(tmp_path):
    """Gold spans -> pre-annotations -> corrected export (annotations) -> the same labels."""
    corpus = read_corpus(write_conll(tmp_path / "c.txt", tiny_sentences(30, seed=3)), "conll")
    tasks = []
    for s in corpus:
        p_ent = np.array([1.0 if label == "Ent" else 0.0 for label in s.labels])
        tasks.append(label_studio_task(s.text, p_ent, None, 0.5))
    assert read_corpus(write_tasks(tmp_path / "pre.json", tasks), "label-studio") == corpus
    exported = [  # what Label Studio exports once each prediction is accepted as an annotation
        {
            "id": i,
            "data": t["data"],
            "annotations": [
                {"id": i, "result": t["predictions"][0]["result"], "was_cancelled": False}
            ],
            "predictions": [],
        }
        for i, t in enumerate(tasks, start=1)
    ]
    exported[0]["annotations"].insert(0, {"result": [], "was_cancelled": True})
    assert read_corpus(write_tasks(tmp_path / "export.json", exported), "label-studio") == corpus


def labelled(text: str, *regions: dict) -> dict:
    result = [{"type": "labels", "value": {**r, "labels": ["Ent"]}} for r in regions]
    return {"data": {"text": text}, "annotations": [{"result": result}]}


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        ({"data": {"text": "北京"}, "predictions": []}, "task 2: no annotation or prediction"),
        (labelled("北京", {"start": 1, "end": 5}), "task 2: region start 1, end 5 is not a span"),
        (
            labelled("北京", {"start": 0, "end": 1, "text": "京"}),
            "task 2: region [0, 1) says '京' but the text there is '北'",
        ),
        ({"data": {"txt": "北京"}}, 'task 2: expected a task object with a string "data.text"'),
    ],
)
def test_label_studio_reader_names_file_line_and_cause(tmp_path, bad, cause):
    good = labelled("张三在北京", {"start": 3, "end": 5, "text": "北京"})
    path = write_tasks(tmp_path / "export.json", [good, bad])
    second_task = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line == "  {"][1]
    with pytest.raises(InputError) as caught:
        read_corpus(path, "label-studio")
    assert str(caught.value).startswith(f"{path}:{second_task}: {cause}"), str(caught.value)


def test_label_studio_reader_rejects_bad_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[\n{"data": }\n]', encoding="utf-8")
    with pytest.raises(InputError, match=r"x.json:2: invalid JSON"):
        read_corpus(path, "label-studio")
    path.write_text('{"data": {}}', encoding="utf-8")
    with pytest.raises(InputError, match=r"x.json:1: expected a JSON list of tasks"):
        read_corpus(path, "label-studio")


@pytest.fixture
def texts_and_model(tiny_encoder, tmp_path):
    from support.models import save_tiny_model

    model = save_tiny_model(tiny_encoder, tmp_path / "model.pkl", 0.5)
    texts = [
        s.text for s in read_corpus(write_conll(tmp_path / "c.txt", tiny_sentences(12, 4)), "conll")
    ]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    return texts, model


def predict_out(capsys, model: Path, texts: Path, fmt: str, cut: float) -> str:
    argv = ["predict", "--model", str(model), "--input", str(texts), "--format", fmt]
    assert main([*argv, "--threshold", str(cut)]) == 0
    return capsys.readouterr().out


def predicted(texts: list[str], model: Path) -> tuple[float, list[list[tuple[int, int]]]]:
    """A cut that makes the random tiny model mark about half the characters, and its spans."""
    from enttag.tagging.tagger import Tagger

    probs = Tagger.load(model, "cpu").probs(texts)
    cut = float(np.median(np.concatenate(probs)))
    return cut, [
        [(s, e) for s, e, _ in spans_from_probs(t, p, cut)]
        for t, p in zip(texts, probs, strict=True)
    ]


def test_predict_label_studio_export_reads_back_as_the_same_spans(
    texts_and_model, tmp_path, capsys
):
    texts, model = texts_and_model
    cut, expected = predicted(texts, model)
    assert sum(map(len, expected)) > len(texts)  # enough spans to compare
    export = tmp_path / "tasks.json"
    export.write_text(
        predict_out(capsys, model, tmp_path / "texts.txt", "label-studio", cut), encoding="utf-8"
    )
    tasks = json.loads(export.read_text(encoding="utf-8"))
    assert [t["data"]["text"] for t in tasks] == texts
    assert tasks[0]["predictions"][0]["result"][0]["value"]["labels"] == ["Ent"]
    back = read_corpus(export, "label-studio")
    assert [s.text for s in back] == texts
    assert [
        spans(np.array([0 if label == "Ent" else 1 for label in s.labels])) for s in back
    ] == expected


def test_predict_html_marks_the_predicted_spans(texts_and_model, tmp_path, capsys):
    texts, model = texts_and_model
    cut, expected = predicted(texts, model)
    page = predict_out(capsys, model, tmp_path / "texts.txt", "html", cut)
    counter = parse(page)
    assert counter.texts == texts
    assert {kind for _, kind, _ in counter.marked} == {"data-pred"}
    assert len(counter.marked) == sum(map(len, expected))
    assert page.rstrip().endswith("</html>")


def chromium(*args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="chromium not installed (Debian: apt-get install -y chromium)",
)
def test_errors_view_renders_in_chromium_with_every_span(tiny_repo, tmp_path):
    from PIL import Image

    page = tiny_repo / "plots/errors_test.html"
    errors = [json.loads(line) for line in (tiny_repo / "metrics/errors_test.jsonl").open()]
    view = [json.loads(line) for line in (tiny_repo / "metrics/view_test.jsonl").open()]
    assert errors and view[: len(errors)] == [
        e | {"p_ent": v["p_ent"]} for e, v in zip(errors, view, strict=False)
    ]
    counter = parse(chromium("--dump-dom", page.as_uri()))
    assert counter.texts == [r["text"] for r in view]
    error_rows = len(errors) + 1  # after the section's heading row
    in_errors = {m for m in counter.marked if m[0] <= error_rows}
    assert len(in_errors) == sum(len(e["gold_spans"]) + len(e["pred_spans"]) for e in errors)
    assert len(counter.marked) == sum(len(r["gold_spans"]) + len(r["pred_spans"]) for r in view)

    shot = tmp_path / "view.png"
    chromium(f"--screenshot={shot}", "--window-size=1000,700", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert (pixels.min(axis=2) < 200).mean() > 0.01, "the page rendered blank"
    red = np.abs(pixels - [214, 39, 40]).sum(axis=2) < 30  # missed-entity underline
    assert red.sum() > 50, "no span marks drawn"

    chromium(f"--screenshot={shot}", "--window-size=1000,700", (page.with_suffix(".svg")).as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    red = np.abs(pixels - [214, 39, 40]).sum(axis=2) < 30
    assert red.sum() > 50, "the SVG version (for dvc plots) draws no span marks"
