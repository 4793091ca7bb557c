"""The distribution: its metadata, what its sdist and wheel hold, and the boards' pins.

The archives are the ones scripts/check-wheel.sh built (./scripts/test exports their
folder as SIGNAGE_WHEEL_DIST); run alone, the test builds them once itself, from a clean
copy of the checkout, as that script does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
import trove_classifiers

import agent
from tests.support import REPO

PACKAGES = {"agent", "display_layouts", "firmware_bridge", "fleet", "signage_base"}
# What the sdist must hold besides the packages: a board is installed from it
# (systemd/, examples/, constraints/), it documents itself (docs/) and tests itself.
SDIST_FILES = (
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "MANIFEST.in",
    "systemd/signage-agent.service",
    "systemd/install.sh",
    "docs/architecture.md",
    "docs/packaging.md",
    "docs/examples/playlist-commune.json",
    "examples/hdmi-lcd.toml",
    "scripts/test",
    "scripts/check-wheel.sh",
    "constraints/board.txt",
    "display_layouts/fonts/OFL.txt",
    "display_layouts/fonts/Unifont-LICENSE.txt",
    "tests/test_packaging.py",
)
REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
# Run alone, the first test builds the archives: ~45 s, more on a loaded machine.
pytestmark = pytest.mark.timeout(300)


def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SIGNAGE_WHEEL_DIST")
    if given:
        yield Path(given)
        return
    work = tmp_path_factory.mktemp("dist")
    stage = f'source scripts/_package.sh && stage_source "{REPO}" "{work}/src"'
    subprocess.run(["bash", "-c", stage], cwd=REPO, check=True, timeout=60)
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(work / "src")],
        check=True,
        capture_output=True,
        timeout=280,
    )
    yield work / "dist"


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


def wheel_metadata(wheel: zipfile.ZipFile) -> Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return HeaderParser().parsestr(wheel.read(name).decode("utf-8"))


# --- pyproject.toml and MANIFEST.in ---------------------------------------------------------


def test_the_version_is_written_once_in_agent_init() -> None:
    project = pyproject()
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "agent.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([.+-]\w+)*", agent.__version__)


def test_classifiers_are_known_to_pypi_and_agree_with_requires_python() -> None:
    project = pyproject()["project"]
    classifiers = project["classifiers"]
    assert [c for c in classifiers if c not in trove_classifiers.classifiers] == []
    # The licence is the SPDX expression; setuptools refuses a classifier beside it.
    assert project["license"] == "Apache-2.0"
    assert not [c for c in classifiers if c.startswith("License ::")]
    pythons = sorted(c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".* :: 3\.\d+", c))
    assert pythons[0] == project["requires-python"].removeprefix(">=")


def test_manifest_grafts_every_folder_a_release_needs() -> None:
    lines = (REPO / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    grafted = {line.split()[1] for line in lines if line.startswith("graft ")}
    assert {"systemd", "docs", "examples", "scripts", "constraints", "tests"} <= grafted


# --- the archives -------------------------------------------------------------------------


def test_the_sdist_holds_the_release_folders(dist: Path) -> None:
    sdist = only(dist, "*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    missing = [path for path in SDIST_FILES if path not in names]
    assert missing == [], f"{sdist.name} lacks {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith((".venv/", ".wheel-check/", ".git/"))]


def test_the_wheel_holds_the_five_packages_and_nothing_else(dist: Path) -> None:
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        tops = {name.split("/")[0] for name in wheel.namelist()}
        metadata = wheel_metadata(wheel)
        names = set(wheel.namelist())
    info = f"signage_agent-{agent.__version__}.dist-info"
    assert tops == PACKAGES | {info}
    assert metadata["Name"] == "signage-agent"
    assert metadata["Version"] == agent.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert set(metadata.get_all("Classifier") or []) == set(pyproject()["project"]["classifiers"])
    # The package data the board draws with, and the licences of the fonts it ships.
    for data in (
        "display_layouts/fonts/NotoSans-Regular.ttf",
        "display_layouts/layouts/headline.yaml",
        "agent/samples/demo.toml",
        f"{info}/licenses/display_layouts/fonts/OFL.txt",
        f"{info}/licenses/display_layouts/fonts/Unifont-LICENSE.txt",
    ):
        assert data in names


# --- constraints/board.txt ------------------------------------------------------------------


def test_the_board_constraints_pin_every_runtime_dependency_and_not_the_agent() -> None:
    lines = (REPO / "constraints" / "board.txt").read_text(encoding="utf-8").splitlines()
    assert any("scripts/freeze-constraints.sh" in line for line in lines if line.startswith("#"))
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins, "no pins"
    bad = [line for line in pins if not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line)]
    assert bad == []
    pinned = {normalized(line.partition("==")[0]) for line in pins}
    wanted = set()
    for requirement in pyproject()["project"]["dependencies"]:
        match = REQUIREMENT_NAME.match(requirement)
        assert match, requirement
        marker = requirement.partition(";")[2]
        # A dependency only for another OS (tzdata on Windows) is not on a board.
        if "sys_platform" not in marker and "platform_system" not in marker:
            wanted.add(normalized(match.group()))
    assert wanted - pinned == set()
    assert "signage-agent" not in pinned


def test_the_installer_installs_with_the_board_constraints() -> None:
    script = (REPO / "systemd" / "install.sh").read_text(encoding="utf-8")
    assert 'CONSTRAINTS="$CHECKOUT/constraints/board.txt"' in script
    assert re.search(r"pip install [^\n]*\n\s*-c \"\$CONSTRAINTS\"", script)
