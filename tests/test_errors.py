"""User-reachable failures are one line naming the cause, not a traceback."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from enttag import cli
from enttag.encode.charmap import specials_of
from enttag.errors import EnttagError
from enttag.experiments import runs


def test_a_tokenizer_without_special_tokens_is_one_line_naming_the_encoder():
    tokenizer = SimpleNamespace(
        name_or_path="models/encoder",
        cls_token_id=None,
        bos_token_id=None,
        sep_token_id=2,
        eos_token_id=None,
        pad_token_id=0,
        unk_token_id=None,
    )
    with pytest.raises(EnttagError) as caught:
        specials_of(tokenizer)
    message = str(caught.value)
    assert message.startswith("models/encoder: the tokenizer has no cls, unk token")
    assert "\n" not in message


def test_journal_without_dvc_installed_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EnttagError, match="dvc is not installed"):
        runs.exp_show()
    assert cli.main(["journal"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "enttag journal: error: dvc is not installed (not on PATH): run `make setup` "
        "and use the venv's enttag\n"
    )
