"""The project's own invariants: dependency lists agree, notebooks are clean and parameterised."""

import json
import re
import tomllib

from colorlib.book import NOTEBOOKS, chapters
from colorlib.paths import REPO


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_and_pyproject_name_the_same_packages():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_names = {_name(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]}
    conda = []
    text = (REPO / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s+- (?:- )?([A-Za-z0-9_.\-]+)", line)
        if m and not line.strip().startswith("- -e"):
            conda.append(_name(m.group(1)))
    conda_names = set(conda) - {"python", "pip"}
    assert pip_names == conda_names


def test_notebooks_are_output_free_and_parameterised():
    nbs = chapters()
    assert len(nbs) >= 3 and all(nb.parent == NOTEBOOKS for nb in nbs)
    for nb in nbs:
        cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        assert not any(c.get("outputs") or c.get("execution_count") for c in cells), f"{nb.name} has outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells), f"{nb.name}: no parameters cell"
