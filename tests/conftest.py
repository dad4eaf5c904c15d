"""The shared fixtures: a tiny random BERT with a Chinese character vocabulary, a tiny corpus,
and the project reproduced on them. What builds them lives in ``support``.

Both are built by the tests themselves (no hub, no ../shared), and the encoder is
loaded through the same ``from_pretrained`` path as any real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.corpus import build_tiny_corpus
from support.models import build_tiny_encoder
from support.repo import copy_repo, make_repo


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return build_tiny_corpus(tmp_path_factory.mktemp("tiny-corpus"))


@pytest.fixture(scope="session")
def reproduced_template(tmp_path_factory, tiny_corpus, tiny_encoder) -> Path:
    """The project on the tiny corpus and encoder, ``dvc repro``-ed once per session.

    Never change it: take a copy with the ``tiny_repo`` fixture (or ``copy_repo``).
    """
    return make_repo(tmp_path_factory.mktemp("reproduced"), tiny_corpus, tiny_encoder)


@pytest.fixture
def tiny_repo(reproduced_template, tmp_path) -> Path:
    """A private copy of the reproduced tiny repo, free to change."""
    return copy_repo(reproduced_template, tmp_path / "repo")
