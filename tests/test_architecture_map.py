"""docs/architecture.md is a map a newcomer trusts: its package table must name every module of
every `hub/` package (and nothing that is gone), and its jobs table every registered job."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text()


def documented_packages() -> dict[str, set[str]]:
    """Package → modules, from the rows `| `hub/x/` | `a`, `b`, `sub/` | … |`."""
    found: dict[str, set[str]] = {}
    for match in re.finditer(r"^\| `hub/([a-z_]+)/` \| ([^|]*) \|", DOC, re.MULTILINE):
        found[match.group(1)] = set(re.findall(r"`([a-z_]+/?)`", match.group(2)))
    return found


def actual_packages() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for package in sorted((ROOT / "hub").iterdir()):
        if not (package / "__init__.py").is_file():
            continue
        names = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
        names |= {f"{d.name}/" for d in package.iterdir() if d.is_dir() and d.name != "__pycache__"}
        found[package.name] = names
    return found


def test_the_package_table_names_every_module() -> None:
    documented, actual = documented_packages(), actual_packages()
    assert set(documented) == set(actual), "packages missing or gone in docs/architecture.md"
    for package, modules in actual.items():
        missing, gone = modules - documented[package], documented[package] - modules
        assert not missing and not gone, f"hub/{package}/: undocumented {missing}, gone {gone}"


def test_the_jobs_table_names_every_registered_job() -> None:
    import hub.domains  # noqa: F401  (every domain registers its jobs)
    from hub.jobs.registry import JOBS

    section = DOC[DOC.index("## Jobs") :]
    section = section[: section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
    assert documented == set(JOBS), (
        f"undocumented {set(JOBS) - documented}, gone {documented - set(JOBS)}"
    )


def test_the_checks_see_a_stale_map() -> None:
    documented = documented_packages()
    assert documented["reports"] >= {"fold", "rollup"}  # the parser reads the table at all
    assert "migrations/" in documented["db"] and "migrations/" in actual_packages()["db"]
