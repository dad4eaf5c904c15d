"""Faults and bad input a user may hit: each gets one clear line, and nothing is lost.

Each test backs a row of the reliability table in docs/reliability.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from support.process import run, subprocess_env
from support.shipped import raw_section

from enttag.data.prepare import check_labelled, overlap_warning
from enttag.data.readers import Sentence, read_corpus
from enttag.encode.tokenized import check_positions
from enttag.errors import EnttagError, InputError
from enttag.model.network import FORMAT, load_encoder, read_checkpoint
from enttag.params import SECTIONS, ParamsError, parse_section
from enttag.pretrained.materialize import materialize_encoder

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def stage(cwd: Path, name: str, **sections: dict) -> subprocess.CompletedProcess:
    """Run ``python -m stages.<name>`` in ``cwd``, shipped params changed by ``sections``."""
    params = {s: raw_section(s) | sections.get(s, {}) for s in SECTIONS}
    write(cwd / "params.yaml", yaml.safe_dump(params, allow_unicode=True))
    return subprocess.run(
        [sys.executable, "-m", f"stages.{name}"],
        cwd=cwd,
        env=subprocess_env(stages=True),
        capture_output=True,
        text=True,
    )


def one_line_error(result: subprocess.CompletedProcess, prog: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.startswith(f"{prog}: error: ")
    return last


CONLL = "张 B-PER\n三 E-PER\n在 O\n北 B-LOC\n京 E-LOC\n\n李 S-PER\n好 O\n"


# -- corpus readers ---------------------------------------------------------------------------


def test_multi_character_token_is_an_error_not_cut(tmp_path):
    path = write(tmp_path / "c.txt", "甲 O\n2008 O\n")
    with pytest.raises(InputError) as e:
        read_corpus(path, "conll")
    assert str(e.value).startswith(f"{path}:2: ")
    assert "'2008'" in str(e.value) and "one character per line" in str(e.value)


def test_weibo_marks_are_read_in_a_marked_file(tmp_path):
    path = write(tmp_path / "weibo.txt", "张0\tB-PER.NAM\n三1\tE-PER.NAM\n20\tO\n")
    assert read_corpus(path, "conll") == [Sentence("张三2", ("Ent", "Ent", "O"))]


def test_a_whole_file_on_one_line_is_quoted_short(tmp_path):
    path = tmp_path / "cr.txt"
    path.write_bytes(("甲 O\r" * 5000).encode())  # CR-only line ends: one 20,000-character line
    with pytest.raises(InputError) as e:
        read_corpus(path, "conll")
    assert len(str(e.value)) < 250 and "(19,999 characters)" in str(e.value)


def test_an_ascii_space_is_a_character(tmp_path):
    path = write(tmp_path / "s.txt", "甲 B-X\n  O\n\t\tO\n乙 E-X\n")
    assert read_corpus(path, "conll") == [Sentence("甲 \t乙", ("Ent", "O", "O", "Ent"))]


def test_predict_tags_output_reads_back_as_a_corpus(tmp_path):
    tags = "".join(f"{c}\t{t}\n" for c, t in zip("张三好", ("Ent", "Ent", "O"), strict=True))
    path = write(tmp_path / "tags.txt", tags + "\n" + "李\tEnt\n")
    assert [s.labels for s in read_corpus(path, "conll")] == [("Ent", "Ent", "O"), ("Ent",)]


@pytest.mark.parametrize("label", ["[]", "0", "{}", None], ids=["list", "zero", "empty", "absent"])
def test_a_split_without_any_entity_label_is_refused(tmp_path, label):
    record = {"text": "张三在北京"} | ({"label": json.loads(label)} if label else {})
    path = write(tmp_path / "test.json", json.dumps(record, ensure_ascii=False) + "\n")
    with pytest.raises(InputError, match="no entity labels in any of its 1 sentences"):
        check_labelled(path, read_corpus(path, "cluener"))


def test_dev_and_test_overlap_is_warned(tmp_path):
    a = [Sentence(t, ("O",) * len(t)) for t in ("甲乙", "丙丁", "戊己")]
    same = overlap_warning(tmp_path / "x.txt", a, tmp_path / "x.txt", a)
    assert "same file" in same
    shared = overlap_warning(tmp_path / "dev.txt", a[:1], tmp_path / "test.txt", a)
    assert "1 of 3 test sentences (33%) are also in dev" in shared
    assert overlap_warning(tmp_path / "dev.txt", a[:1], tmp_path / "test.txt", a[1:]) is None


# -- the prepare stage ------------------------------------------------------------------------


def test_prepare_refuses_a_corpus_file_outside_data_dir(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "train.txt", CONLL)
    outside = write(tmp_path / "elsewhere" / "test.txt", CONLL)
    result = stage(tmp_path / "work", "prepare", data={"dir": str(corpus), "test": str(outside)})
    assert "is outside data.dir" in one_line_error(result, "prepare")
    assert not (tmp_path / "work" / "data").exists()


def test_prepare_warns_when_dev_is_the_test_file(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "train.txt", CONLL)
    write(corpus / "test.txt", CONLL)
    data = {"dir": str(corpus), "dev": "test.txt"}
    result = stage(tmp_path / "work", "prepare", data=data, prepare={"max_dev": None})
    assert result.returncode == 0, result.stderr
    assert "WARNING: data.dev and data.test are the same file" in result.stderr


def test_prepare_warns_about_dropped_overlapping_spans(tmp_path):
    nested = {"org": {"北京大学": [[0, 3]]}, "loc": {"北京": [[0, 1]]}, "per": {"李四": [[5, 6]]}}
    lines = [json.dumps({"text": "北京大学的李四", "label": nested}, ensure_ascii=False)] * 2
    corpus = tmp_path / "corpus"
    write(corpus / "train.json", "\n".join(lines))
    write(corpus / "test.json", lines[0])
    data = {"dir": str(corpus), "train": "train.json", "dev": "train.json", "test": "test.json"}
    data |= {"format": "cluener"}
    result = stage(tmp_path / "work", "prepare", data=data)
    assert result.returncode == 0, result.stderr
    assert "WARNING: " in result.stderr
    assert "test.json: 1 entity spans overlap a span kept before them in 1 of 1" in result.stderr
    row = json.loads((tmp_path / "work/data/prepared/test.jsonl").read_text(encoding="utf-8"))
    assert row["tags"] == ["B", "I", "I", "I", "O", "B", "I"]


def test_prepare_refuses_an_unlabelled_test_file(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "train.txt", CONLL)
    write(corpus / "test.txt", "甲 O\n乙 O\n")
    result = stage(tmp_path / "work", "prepare", data={"dir": str(corpus)})
    last = one_line_error(result, "prepare")
    assert "test.txt: no entity labels" in last and "enttag predict --input" in last


def test_a_stage_names_itself_in_its_one_line_error(tmp_path):
    result = stage(tmp_path, "prepare", data={"dir": str(tmp_path / "none")})
    assert "train.txt: cannot read file" in one_line_error(result, "prepare")


# -- params -----------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["train", "prepare", "evaluate"])
def test_a_negative_seed_is_refused(section):
    with pytest.raises(ParamsError, match=f"{section}.seed must be >= 0, got -1"):
        parse_section(section, raw_section(section) | {"seed": -1}, SECTIONS[section])


@pytest.mark.skipif(torch.cuda.device_count() > 7, reason="this machine has a cuda:7")
def test_an_absent_cuda_device_is_refused_before_training():
    """Checked where the model runs, not when params load: other stages never import torch."""
    from enttag.model.inference import resolve_device

    cfg = parse_section("train", raw_section("train") | {"device": "cuda:7"}, SECTIONS["train"])
    with pytest.raises(EnttagError, match="train.device is 'cuda:7' but this machine has"):
        resolve_device(cfg.device)


# -- the encoder ------------------------------------------------------------------------------


def test_more_layers_than_the_encoder_has_are_refused(tiny_encoder):
    with pytest.raises(EnttagError, match="model.num_layers is 8 but the encoder .* has only 2"):
        load_encoder(tiny_encoder, 8, 0.0)
    assert load_encoder(tiny_encoder, 2, 0.0).config.num_hidden_layers == 2


def test_windows_longer_than_the_positions_are_refused(tiny_encoder):
    with pytest.raises(EnttagError, match="tokenize.max_length is 200 but the encoder .* 128"):
        check_positions(tiny_encoder, 200)
    check_positions(tiny_encoder, 128)


def test_tokenize_stage_refuses_long_windows_before_writing(tmp_path, tiny_encoder):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "encoder").symlink_to(tiny_encoder)
    result = stage(tmp_path, "tokens", tokenize={"max_length": 200})
    assert "tokenize.max_length is 200" in one_line_error(result, "tokenize")
    assert not (tmp_path / "data").exists()


def test_a_missing_local_encoder_folder_is_named(tmp_path):
    with pytest.raises(EnttagError, match=r"model.name './nonexistent_dir': no such folder"):
        materialize_encoder("./nonexistent_dir", tmp_path / "enc")


# -- model files ------------------------------------------------------------------------------


def test_an_empty_model_file(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"")
    with pytest.raises(EnttagError, match="m.pkl: empty file, not an enttag model"):
        read_checkpoint(tmp_path / "m.pkl")


def test_a_truncated_model_file(tmp_path):
    torch.save({"format": FORMAT, "state_dict": {"w": torch.zeros(1000)}}, tmp_path / "m.pkl")
    data = (tmp_path / "m.pkl").read_bytes()
    (tmp_path / "m.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(EnttagError, match="m.pkl: not an enttag model"):
        read_checkpoint(tmp_path / "m.pkl")


def test_a_model_file_missing_keys(tmp_path):
    torch.save({"format": FORMAT, "state_dict": {}}, tmp_path / "m.pkl")
    with pytest.raises(EnttagError, match="m.pkl: damaged enttag model, missing encoder_config"):
        read_checkpoint(tmp_path / "m.pkl")


def test_a_newer_model_format_has_its_own_message(tmp_path):
    torch.save({"format": "enttag-model/3"}, tmp_path / "m.pkl")
    with pytest.raises(EnttagError, match="written in format 'enttag-model/3', this enttag reads"):
        read_checkpoint(tmp_path / "m.pkl")


# -- DVC --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_edited_corpus_file_at_an_absolute_path_is_seen_by_dvc(tiny_repo, tmp_path):
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    corpus = shutil.copytree(params["data"]["dir"], tmp_path / "elsewhere" / "corpus")
    assert not corpus.is_relative_to(tiny_repo)
    params["data"]["dir"] = str(corpus)
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "commit", "-f", "prepare"], tiny_repo)
    assert "changed" not in run(["dvc", "status", "prepare"], tiny_repo).stdout
    with (corpus / "test.txt").open("a", encoding="utf-8") as f:
        f.write("\n甲 S-PER\n")
    status = run(["dvc", "status", "prepare"], tiny_repo).stdout
    assert "modified:" in status and str(corpus) in status
