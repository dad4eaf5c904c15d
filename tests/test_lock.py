"""requirements.lock cannot drift from pyproject.toml, and `make setup` installs from it.

The lock is pip-compile's (``make lock``): each pinned release with its sha256 hashes and
``# via`` lines naming what asks for it; ``enttag (pyproject.toml)`` marks the direct ones.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from support.process import ROOT

LOCK = ROOT / "requirements.lock"
DIRECT = "enttag (pyproject.toml)"  # the `# via` of what pyproject.toml asks for itself
LOCAL_WHEELS = Path("/opt/wheels")  # this kind of machine's find-links (torch's CPU build)

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass
class Locked:
    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)

    @property
    def direct(self) -> bool:
        return any(v == DIRECT or v.startswith("-r ") for v in self.via)


def read_lock(text: str) -> dict[str, Locked]:
    """Canonical name -> its pin, hashes and `# via` sources, from pip-compile's output."""
    locked: dict[str, Locked] = {}
    current: Locked | None = None
    for line in text.splitlines():
        if pin := _PIN.match(line):
            current = locked[canonicalize_name(pin[1])] = Locked(pin[2])
        elif current is None or not line.startswith(" "):
            current = None  # the header, or a comment between entries
        else:
            current.hashes += _HASH.findall(line)
            comment = line.strip().removeprefix("#").strip()
            if comment.startswith("via"):
                comment = comment.removeprefix("via").strip()  # `# via x` or `# via` + lines
            if comment and not line.strip().startswith("--"):
                current.via.append(comment)
    return locked


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


@pytest.fixture(scope="module")
def lock() -> dict[str, Locked]:
    return read_lock(LOCK.read_text(encoding="utf-8"))


def stale(lock: dict[str, Locked], requirements: list[Requirement]) -> list[str]:
    """What pyproject.toml asks for that the lock lacks or pins at another version."""
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate():
            continue
        entry = lock.get(canonicalize_name(req.name))
        if entry is None:
            problems.append(f"{req} is not in requirements.lock")
        elif not req.specifier.contains(Version(entry.version), prereleases=True):
            problems.append(f"{req} but requirements.lock has {entry.version}")
    return problems


def test_every_pin_of_pyproject_is_in_the_lock_at_its_version(lock):
    requirements = pyproject_requirements()
    assert "seqeval==1.2.2" in {str(r) for r in requirements}
    problems = stale(lock, requirements)
    assert not problems, "run `make lock`: " + "; ".join(problems)
    assert lock["seqeval"].version == "1.2.2"


def test_a_pin_bumped_without_relocking_is_caught(lock):
    bumped = [Requirement("transformers==5.25.0"), Requirement("nothing-like-it==1.0")]
    assert stale(lock, bumped) == [
        "transformers==5.25.0 but requirements.lock has 5.24.0",
        "nothing-like-it==1.0 is not in requirements.lock",
    ]


def test_the_lock_asks_directly_for_nothing_pyproject_does_not(lock):
    asked = {canonicalize_name(r.name) for r in pyproject_requirements()}
    direct = {name for name, entry in lock.items() if entry.direct}
    assert direct - asked == set(), "pyproject.toml no longer asks for these: run `make lock`"
    assert asked - direct == set(), "pyproject.toml asks for these too: run `make lock`"
    assert all(entry.via for entry in lock.values()), "every pin says what asks for it"


def test_every_locked_release_is_hashed_and_torch_is_the_cpu_build(lock):
    assert len(lock) > 100 and all(entry.hashes for entry in lock.values())
    assert {"pip", "setuptools", "wheel"} <= lock.keys()  # the editable install builds offline
    torch = lock["torch"]
    assert Version(torch.version).local == "cpu", "a CUDA torch would pull gigabytes"
    wheels = sorted(LOCAL_WHEELS.glob(f"torch-{torch.version}-*.whl"))
    if not wheels:
        pytest.skip(f"no local torch wheel under {LOCAL_WHEELS} to check the hash against")
    assert torch.hashes == [hashlib.sha256(wheels[0].read_bytes()).hexdigest()]


def test_make_setup_installs_from_the_lock_and_reinstalls_when_it_changes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\$\(STAMP\): .*requirements\.lock", makefile, flags=re.M)
    assert "install --require-hashes -r requirements.lock" in makefile
    assert "install --no-deps --no-build-isolation -e ." in makefile
    assert "-e '.[dev]'" not in makefile
