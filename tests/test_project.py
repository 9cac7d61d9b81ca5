"""The project's own invariants: dependency lists agree with each other and with the lock, the environment is
exactly the lock, notebooks are clean and parameterised."""

import importlib.metadata
import json
import re
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from colorlib.book import NOTEBOOKS, chapters
from colorlib.paths import REPO

sys.path.insert(0, str(REPO / "scripts"))
from sync_environment import locked_versions  # noqa: E402


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _conda_entries() -> dict[str, str]:
    """{name: version spec} of environment.yml's dependencies (python, pip and the project itself left out)."""
    text = (REPO / "environment.yml").read_text()
    entries = {}
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s+- (?:- )?([A-Za-z0-9_.\-]+)(\S*)", line)
        if m and not line.strip().startswith("- -e"):
            entries[_name(m.group(1))] = m.group(2)
    return {k: v for k, v in entries.items() if k not in ("python", "pip")}


def test_environment_and_pyproject_name_the_same_packages():
    assert {_name(r.name) for r in _pyproject_requirements()} == set(_conda_entries())


def test_the_lock_pins_every_dependency_within_its_range_and_environment_yml_agrees():
    locked = locked_versions(REPO / "requirements.lock")
    for req in _pyproject_requirements():
        name = _name(req.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert Version(locked[name]) in req.specifier, f"{name}=={locked[name]} is outside pyproject's {req}"
    for name, spec in _conda_entries().items():
        assert spec == f"=={locked[name]}", f"environment.yml: {name}{spec}, the lock has {locked[name]}"
    text = (REPO / "requirements.lock").read_text()
    assert text.count("--hash=sha256:") >= len(locked), "every locked package carries its hashes"
    assert "file:///" not in text and "--find-links" not in text, "the lock names no machine's own folders"


def test_the_environment_is_exactly_the_lock():
    """What `make venv` installed (this interpreter's packages) is what the lock names, version for version."""
    locked = locked_versions(REPO / "requirements.lock")
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in importlib.metadata.distributions()}
    wrong = {name: (version, installed.get(name)) for name, version in locked.items() if installed.get(name) != version}
    assert not wrong, f"installed versions differ from requirements.lock (locked, installed): {wrong}"


def test_notebooks_are_output_free_and_parameterised():
    nbs = chapters()
    assert len(nbs) >= 3 and all(nb.parent == NOTEBOOKS for nb in nbs)
    for nb in nbs:
        cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in cells), f"{nb.name} has outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), f"{nb.name}: no parameters cell"


def test_a_data_folder_reached_through_a_link_is_shown_as_the_link(tmp_path):
    """display_path keeps symbolic links as named: a photo folder linked into the repository's ignored runs/
    folder from anywhere shows as runs/..., never as the build machine's absolute target."""
    import os
    import uuid

    from colorlib.paths import RUNS, display_path

    target = tmp_path / "photos"
    target.mkdir()
    RUNS.mkdir(exist_ok=True)
    link = RUNS / f"link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(target, target_is_directory=True)
    try:
        assert display_path(link / "val") == os.path.join("runs", link.name, "val")
        assert display_path(target) == str(target)  # elsewhere and not linked: as it is
    finally:
        link.unlink()
