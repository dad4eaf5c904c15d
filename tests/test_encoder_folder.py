"""model.name as a local folder: materialised into one plain HF folder, same weights."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from enttag.errors import EnttagError
from enttag.pretrained.materialize import materialize_encoder


def test_a_local_folder_is_materialised_with_the_same_weights_and_vocabulary(
    tiny_encoder, tmp_path
):
    out = tmp_path / "models" / "encoder"
    out.mkdir(parents=True)
    (out / "stale.bin").write_bytes(b"from an earlier run")
    assert materialize_encoder(str(tiny_encoder), out) == out
    assert not (out / "stale.bin").exists()  # the folder is replaced, not merged
    assert (out / "config.json").is_file()
    original, copy = AutoModel.from_pretrained(tiny_encoder), AutoModel.from_pretrained(out)
    for (name, a), (_, b) in zip(
        original.state_dict().items(), copy.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert AutoTokenizer.from_pretrained(out).get_vocab() == (
        AutoTokenizer.from_pretrained(tiny_encoder).get_vocab()
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["encoder"]  # no temp left


def test_a_folder_that_is_not_an_encoder_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EnttagError, match="could not load it with from_pretrained") as info:
        materialize_encoder(str(tmp_path / "empty"), tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()
