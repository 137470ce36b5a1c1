"""What `pip install .` ships (the Docker image, a non-editable install): every file the hub
reads at run time beside its code must match the package-data patterns in pyproject.toml — a
vendored module left out once broke the inbox's main script in a built image only."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shipped_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["setuptools"]["package-data"]["*"])


def tracked_data_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "hub", "web", "adapters"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [p for p in listed if not p.endswith(".py") and "/migrations/" not in p]


def test_every_data_file_of_the_packages_is_shipped() -> None:
    patterns = shipped_patterns()
    files = tracked_data_files()
    assert any(f.endswith(".mjs") for f in files)  # the check sees the vendored modules
    left_out = [f for f in files if not any(fnmatch.fnmatch(Path(f).name, p) for p in patterns)]
    assert left_out == [], f"add patterns to [tool.setuptools.package-data]: {left_out}"
