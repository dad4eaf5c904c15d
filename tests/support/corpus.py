"""The tiny synthetic corpus: PER/LOC/ORG names among filler characters, as CoNLL files,
sentences or a prepared folder. Built by the tests themselves (no hub, no download)."""

from __future__ import annotations

import random
from pathlib import Path

from enttag.data.prepare import split_stats, write_prepared
from enttag.data.readers import Sentence

SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
PLACES = ["北京", "上海", "广州", "深圳", "南京", "杭州", "武汉", "成都", "西安", "重庆"]
ORGS = ["北京大学", "清华大学", "人民日报", "新华社", "中国银行", "国务院"]
FILLER = (
    "的是在了不和有大这主中人上为们地个用工时要动国产以我到他会作来分生对于学下级义就"
    "年阶发成部民可出能方进同行面说种过命度革而多子后自社加小机也经力线本电高量长党得"
    "实家定深法表着水理化争现所二起政三好十战无农使性前等反体合斗路图把结第里正新开论"
    "之物从当两些还天资事队批点育重其思与间内去因件日利相由压员气业代全组数果期导平各"
    "基或月毛然如应形想制心样干都向变关问比展那它最及外没看治提五解系林者米群头意只明"
    "四道马认次文通但条较克又公孔领军流入接席位情运器并飞原油放立题质指建区验活众很教"
    "决特此常石强极土少已根共直团统式转别造切九你取西持总料连任志观调七么山程百报更见"
    "必真保热委手改管处己将修支识病象几先老光专什六型具示复安带每东增则完风回南广劳轮"
    "科北打积车计给节做务被整联步类集号列温装即毫知轴研单色坚据速防史拉世设达尔场织历"
    "花受求传口断况采精金界品判参层止边清至万确究书术状厂须离再目海交权且儿青才证低越"
)
PUNCT = "，。、！？：；（）《》“”"


def tiny_sentences(n: int, seed: int, long_every: int = 25) -> list[list[tuple[str, str]]]:
    """Synthetic sentences with PER/LOC/ORG entities, as (char, BMES tag) pairs."""
    rng = random.Random(seed)

    def entity(text: str, kind: str) -> list[tuple[str, str]]:
        if len(text) == 1:
            return [(text, f"S-{kind}")]
        tags = [f"B-{kind}"] + [f"M-{kind}"] * (len(text) - 2) + [f"E-{kind}"]
        return list(zip(text, tags, strict=True))

    def filler(k: int) -> list[tuple[str, str]]:
        return [(rng.choice(FILLER), "O") for _ in range(k)]

    sentences = []
    for i in range(n):
        parts = []
        for _ in range(6 if i % long_every == 0 else 1):  # some sentences longer than a window
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            parts += entity(name, "PER") + filler(rng.randint(1, 4))
            parts += entity(rng.choice(PLACES), "LOC") + filler(rng.randint(2, 6))
            if rng.random() < 0.5:
                parts += entity(rng.choice(ORGS), "ORG") + filler(rng.randint(1, 3))
            parts.append((rng.choice(PUNCT[:2]), "O"))
        sentences.append(parts)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = ["".join(f"{c} {t}\r\n" for c, t in s) for s in sentences]
    path.write_text("\r\n".join(blocks), encoding="utf-8", newline="")
    return path


def as_sentences(pairs: list[list[tuple[str, str]]]) -> list[Sentence]:
    return [
        Sentence("".join(c for c, _ in s), tuple("O" if t == "O" else "Ent" for _, t in s))
        for s in pairs
    ]


def prepare_tiny(out: Path, n_train: int, n_dev: int, n_test: int, long_every: int) -> Path:
    """A prepared folder (train/dev/test JSON lines and stats) from synthetic sentences."""
    splits = {
        name: as_sentences(tiny_sentences(n, seed=seed, long_every=long_every))
        for name, n, seed in (("train", n_train, 11), ("dev", n_dev, 12), ("test", n_test, 13))
    }
    write_prepared(splits, out, split_stats(splits))
    return out


def build_tiny_corpus(folder: Path, n_train: int = 120, n_test: int = 40) -> Path:
    write_conll(folder / "train.txt", tiny_sentences(n_train, seed=1))
    write_conll(folder / "test.txt", tiny_sentences(n_test, seed=2))
    return folder
