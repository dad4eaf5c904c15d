"""What the tests share, apart from their fixtures (which ``conftest.py`` declares).

- ``support.process``: the checked-out project's paths, the environment of every command a
  test starts (``subprocess_env``), ``run`` (checked, with stacks on a hang) and ``make``.
- ``support.corpus``: the tiny synthetic corpus, as CoNLL files, sentences or prepared splits.
- ``support.models``: the tiny random BERT, a tiny model file, sample texts.
- ``support.repo``: a copy of the project in a temporary git repo, ``dvc repro``-ed.
- ``support.shipped``: sections of the shipped params.yaml, for tests to vary.

A test module imports from here, never from ``conftest`` or from another test module
(``tests/test_layout.py`` reads the imports).
"""
