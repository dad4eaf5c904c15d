"""`enttag export --format transformers`: plain transformers tags exactly like enttag."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from support.process import run
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

from enttag.cli import main
from enttag.encode.charmap import Specials, build_char_map, prune, specials_of
from enttag.errors import EnttagError
from enttag.labels import CLASSES, class_probs
from enttag.model.network import EntityTagger, load_encoder, prune_embeddings, save_model
from enttag.tagging.hf_export import export_transformers
from enttag.tagging.tagger import Tagger

ROOT = Path(__file__).resolve().parents[1]
MAX_LENGTH = 64  # texts below up to 62 characters: one window, as the pipeline sees them
TEXTS = [
    "张三在北京大学工作。",
    "王伟 在上海的 中国银行工作，李娜去了深圳。",  # spaces
    "2008年8月8日，刘明在广州ABC公司和xyz集团。",  # digits, Latin upper and lower case
    "陈静去了Ω€和鑫淼，又回到重庆。",  # characters no vocabulary piece covers
    "周杰😀👍🏽去了杭州\t成都\u3000西安！",  # emoji (one with a skin-tone modifier), tab, U+3000
    "[CLS]张伟<s>[UNK]１２３Ａｂ",  # special-token strings are characters; full-width forms
    "",
]
PIPELINE = r"""
import json, sys
sys.modules["enttag"] = None  # any import of enttag fails
from transformers import pipeline

texts = json.loads(sys.argv[1])
out = {}
for folder in sys.argv[2:]:
    per_token = pipeline("token-classification", model=folder, ignore_labels=[])
    spans = pipeline("token-classification", model=folder, aggregation_strategy="simple")
    rows = []
    for text in texts:
        tokens = [
            [t["start"], t["end"], float(t["score"]), t["entity"]] for t in per_token(text)
        ]
        groups = [[g["start"], g["end"], g["entity_group"]] for g in spans(text)]
        rows.append({"tokens": tokens, "spans": groups})
    out[folder] = rows
print(json.dumps(out))
"""


def pruned_bert_model(encoder: Path, path: Path) -> Path:
    """A random tagger on the tiny BERT, vocabulary pruned as the pipeline prunes it."""
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    chars = "".join(piece for piece in tokenizer.get_vocab() if len(piece) == 1)[:200]
    chars += "aABCXYZ１２３Ａａｂ \t"  # upper case and full-width forms share ids; spaces: none
    kept, char_map, specials = prune(build_char_map(chars, tokenizer), specials_of(tokenizer))
    torch.manual_seed(1)
    model = EntityTagger(load_encoder(encoder, None, 0.0))
    prune_embeddings(model.encoder, kept, specials.pad)
    randomize(model)
    extra = {
        "threshold": 0.4,
        "train": {"best_step": 6, "steps": 8, "dev": {"ent_f1": 0.5}},
        "params": {
            "model": {"name": str(encoder), "num_layers": None, "head": "linear"},
            "tokenize": {"max_length": MAX_LENGTH, "stride": 8},
            "train": {"seed": 0, "max_steps": 8},
        },
    }
    save_model(
        path,
        model,
        char_map=char_map,
        specials=specials,
        max_length=MAX_LENGTH,
        stride=8,
        extra=extra,
    )
    return path


def xlmr_model(path: Path, head: str = "linear") -> Path:
    """A random tagger on a tiny XLM-RoBERTa whose whitespace reads as ``▁``, as e5's does."""
    chars = "张三李四王伟在北京上海大学工作。，,的去了"
    char_map = {c: 5 + i for i, c in enumerate(chars)}
    char_map["，"] = char_map[","]  # a SentencePiece vocabulary stores NFKC forms
    char_map.update({" ": 4, "\u3000": 4})  # whitespace -> "▁"
    config = XLMRobertaConfig(
        vocab_size=5 + len(chars),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH + 2,
        pad_token_id=1,
    )
    torch.manual_seed(2)
    model = EntityTagger(XLMRobertaModel(config), head=head)
    randomize(model)
    save_model(
        path,
        model,
        char_map=char_map,
        specials=Specials(cls=0, sep=2, pad=1, unk=3),
        max_length=MAX_LENGTH,
        stride=8,
        extra={"threshold": None, "params": {"model": {"name": "tiny-xlmr", "head": head}}},
    )
    return path


def randomize(model: EntityTagger) -> None:
    with torch.no_grad():  # weights large enough that P(Ent) spreads over (0, 1)
        for weight in model.parameters():
            if weight.dim() > 1:
                weight.normal_(0.0, 0.1)


@pytest.fixture(scope="module")
def models(tiny_encoder, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hf-export")
    return {
        "bert": pruned_bert_model(tiny_encoder, folder / "bert.pkl"),
        "xlmr": xlmr_model(folder / "xlmr.pkl"),
    }


@pytest.fixture(scope="module")
def exported(models) -> dict[str, Path]:
    return {name: export_transformers(path, path.with_suffix("")) for name, path in models.items()}


@pytest.fixture(scope="module")
def pipeline_output(exported) -> dict[str, list[dict]]:
    """What ``pipeline("token-classification")`` says, in a process without enttag."""
    folders = [str(exported[name]) for name in sorted(exported)]
    result = subprocess.run(
        [sys.executable, "-c", PIPELINE, json.dumps(TEXTS), *folders],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    return {name: rows[str(exported[name])] for name in exported}


def test_the_folder_is_a_hugging_face_model(exported, tiny_encoder):
    bert = exported["bert"]
    assert sorted(p.name for p in bert.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((bert / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForTokenClassification"]
    assert config["id2label"] == {"0": "Ent", "1": "O"}
    assert config["label2id"] == {"Ent": 0, "O": 1}
    kept = len(
        torch.load(bert.with_suffix(".pkl"), weights_only=True)["state_dict"][
            "encoder.embeddings.word_embeddings.weight"
        ]
    )
    assert config["vocab_size"] == kept < len(AutoTokenizer.from_pretrained(tiny_encoder))
    tokenizer_config = json.loads((bert / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert tokenizer_config["model_max_length"] == MAX_LENGTH
    xlmr = json.loads((exported["xlmr"] / "config.json").read_text(encoding="utf-8"))
    assert xlmr["architectures"] == ["XLMRobertaForTokenClassification"]


@pytest.mark.parametrize("name", ["bert", "xlmr"])
def test_pipeline_p_ent_and_spans_equal_enttag(name, models, pipeline_output):
    tagger = Tagger.load(models[name], "cpu")
    probs, spans = tagger.probs(TEXTS), tagger.spans(TEXTS)
    n_ent = 0
    for text, row, p, ours in zip(TEXTS, pipeline_output[name], probs, spans, strict=True):
        assert [t[:2] for t in row["tokens"]] == [[i, i + 1] for i in range(len(text))], text
        theirs = np.array([s if e == "Ent" else 1 - s for _, _, s, e in row["tokens"]])
        assert np.abs(theirs - p).max(initial=0) < 1e-5, text
        assert [tuple(s[:2]) for s in row["spans"]] == [s[:2] for s in ours], text
        assert {s[2] for s in row["spans"]} <= {"Ent"}
        n_ent += len(ours)
    assert n_ent >= 5  # the comparison covered real spans, not only O


def test_tokenizer_ids_are_enttags(exported, models):
    checkpoint = torch.load(models["bert"], weights_only=True)
    tokenizer = AutoTokenizer.from_pretrained(exported["bert"])
    char_map, s = checkpoint["char_to_id"], checkpoint["specials"]
    text = "北京 Ａa😀Ω[CLS]"
    ids = tokenizer(text)["input_ids"]
    assert ids == [s["cls"], *(char_map.get(c, s["unk"]) for c in text), s["sep"]]
    assert char_map["Ａ"] == char_map["a"] == char_map["A"]
    ids = tokenizer("ＡaA")["input_ids"]  # one id for Ａ, a and A, decoded as the vocabulary's a
    assert tokenizer.decode(ids, skip_special_tokens=True) == "aaa"


def test_model_card(exported, models, tmp_path):
    metrics = tmp_path / "test.json"
    plain = {
        "ent_precision": 0.91,
        "ent_recall": 0.89,
        "ent_f1": 0.9,
        "ent_f1_lo": 0.88,
        "ent_f1_hi": 0.92,
        "lift": -0.01,
        "lift_lo": -0.02,
        "lift_hi": 0.003,
        "beats_baseline": "not distinguishable",
        "verdict": "learned",
    }
    metrics.write_text(json.dumps(plain), encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "dir": "data/raw/msra",
                    "train": "train.txt",
                    "dev": None,
                    "test": "test.txt",
                    "format": "conll",
                },
                "prepare": {"max_dev": 1000, "dev_fraction": 0.05},
            }
        ),
        encoding="utf-8",
    )
    out = export_transformers(models["bert"], tmp_path / "hf", metrics, params)
    card = (out / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["language"] == "zh" and front["library_name"] == "transformers"
    assert front["pipeline_tag"] == "token-classification" and "ner" in front["tags"]
    result = front["model-index"][0]["results"][0]
    assert {m["type"]: m["value"] for m in result["metrics"]} == {
        "precision": 0.91,
        "recall": 0.89,
        "f1": 0.9,
    }
    assert result["dataset"]["name"] == "MSRA"
    assert "0.9000 [0.8800, 0.9200]" in card and "-0.0100 [-0.0200, +0.0030]" in card
    assert "beats the baseline: not distinguishable" in card and "verdict: learned" in card
    assert "caller's business" in card and "`train.` " not in card
    assert "| `tokenize.max_length` | 64 |" in card and "MSRA" in card

    fused = {**plain, "ent_f1": 0.95}
    fused.update(
        encoder_ent_f1=0.93,
        encoder_ent_f1_lo=0.92,
        encoder_ent_f1_hi=0.94,
        encoder_lift=-0.02,
        encoder_lift_lo=-0.03,
        encoder_lift_hi=-0.01,
        encoder_beats_baseline="no",
    )
    metrics.write_text(json.dumps(fused), encoding="utf-8")
    card = (export_transformers(models["bert"], tmp_path / "hf", metrics) / "README.md").read_text(
        encoding="utf-8"
    )
    front = yaml.safe_load(card.split("---\n")[1])
    assert [m["value"] for m in front["model-index"][0]["results"][0]["metrics"]] == [0.93]
    assert "the encoder alone" in card and "0.9300 [0.9200, 0.9400]" in card
    assert "beats the baseline: no" in card and "Not recorded in this export" in card


def test_clear_errors(models, tmp_path, capsys):
    crf = xlmr_model(tmp_path / "crf.pkl", head="crf")
    with pytest.raises(EnttagError, match="supports the linear head, not model.head crf"):
        export_transformers(crf, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "test.json"
    bad.write_text('{"ent_f1": 0.9}', encoding="utf-8")
    with pytest.raises(EnttagError, match=r"test.json: missing ent_precision, ent_recall"):
        export_transformers(models["xlmr"], tmp_path / "out", bad)
    argv = ["export", "--format", "transformers", "--model", str(models["xlmr"])]
    assert main([*argv, "--out", str(tmp_path / "o"), "--int8"]) == 1
    assert "--int8 applies to --format onnx only" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "o"), "--metrics", str(bad)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_writes_the_folder(models, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no metrics/test.json, no params.yaml here
    assert main(["export", "--format", "transformers", "--model", str(models["xlmr"])]) == 0
    assert "model.safetensors" in capsys.readouterr().out
    assert (tmp_path / "models" / "hf" / "tokenizer.json").is_file()
    assert "Not given (export with `--metrics" in (tmp_path / "models/hf/README.md").read_text(
        encoding="utf-8"
    )


def test_dvc_yaml_declares_the_model_as_an_artifact():
    dvc_yaml = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    artifact = dvc_yaml["artifacts"]["entity-tagger"]
    assert artifact["type"] == "model" and artifact["desc"] and artifact["labels"]
    assert artifact["path"] == "models/tagger.pkl" in dvc_yaml["stages"]["fuse"]["outs"]


@pytest.mark.slow
def test_dvc_artifacts_get_then_predict_and_export(tiny_repo, tmp_path):
    """A registered version of the tiny repo's model, fetched elsewhere, tags like the repo's;
    its transformers export carries the repo's test scores in the card."""
    run(["git", "tag", "-a", "entity-tagger@v0.1.0", "-m", "tiny"], tiny_repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(["dvc", "artifacts", "get", str(tiny_repo), "entity-tagger", "-o", "tagger.pkl"], elsewhere)
    fetched = elsewhere / "tagger.pkl"
    assert fetched.read_bytes() == (tiny_repo / "models" / "tagger.pkl").read_bytes()
    text = "张伟在北京大学工作，李娜去了上海。"
    argv = ["enttag", "predict", "--format", "jsonl", "--probs", text]
    ours = json.loads(run([*argv, "--model", str(fetched)], elsewhere).stdout)
    assert ours == json.loads(run(argv, tiny_repo).stdout)  # the repo's models/tagger.pkl
    assert len(ours["probs"]) == len(text)

    run(["enttag", "export", "--format", "transformers"], tiny_repo)  # card: metrics, params
    card = (tiny_repo / "models" / "hf" / "README.md").read_text(encoding="utf-8")
    scores = json.loads((tiny_repo / "metrics" / "test.json").read_text(encoding="utf-8"))
    assert f"Ent F1: {scores['ent_f1']:.4f} [{scores['ent_f1_lo']:.4f}" in card
    assert f"verdict: {scores['verdict']}" in card and "## Data" in card
    tagger = Tagger.load(fetched, "cpu")
    probs = class_probs(tagger.outputs([text])[0], tagger.tags)
    from transformers import pipeline

    tokens = pipeline("token-classification", model=str(tiny_repo / "models/hf"), ignore_labels=[])
    names = list(CLASSES[tagger.tags])
    for i, t in enumerate(tokens(text)):  # the pipeline's class is enttag's most probable one
        assert t["entity"] == names[probs[i].argmax()]
        assert abs(t["score"] - probs[i].max()) < 1e-5
    script = ROOT / "benchmarks" / "hf_parity.py"
    run([sys.executable, str(script), "--n", "20", "--json", "parity.json"], tiny_repo)
    parity = json.loads((tiny_repo / "parity.json").read_text(encoding="utf-8"))
    assert parity["sentences"] == 20 and parity["longer_than_a_window"] > 0
    assert parity["max_abs_diff_class_prob"] < 1e-5 and parity["sentences_with_other_spans"] == 0
