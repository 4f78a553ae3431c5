"""Installs come from uv.lock: the image and `make install` use the same uv and refuse a stale lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _locked_version(name: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def test_the_image_bootstraps_the_uv_of_the_lock_and_installs_with_locked():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r'"uv==([0-9.]+)"', dockerfile)
    assert pinned is not None and pinned.group(1) == _locked_version("uv")
    assert "uv sync --locked" in dockerfile


def test_make_install_syncs_the_lock_and_lint_checks_it():
    makefile = (ROOT / "Makefile").read_text()
    assert "uv sync --locked" in makefile
    assert "uv lock --check" in makefile


def test_every_direct_dependency_is_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"] for p in lock["package"]}
    names = {re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in wanted}
    assert names - locked == set()
