"""Write the locked versions into environment.yml (the conda route names the same packages as pyproject.toml,
at exactly the versions of requirements.lock). Run by `make lock`: python scripts/sync_environment.py LOCK YML"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def locked_versions(lock: Path) -> dict[str, str]:
    """{normalised name: version} of every ``name==version`` line of a pip-compile lock."""
    found = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", lock.read_text(), flags=re.M)
    return {name.lower().replace("_", "-"): version for name, version in found}


def pin(yml: str, versions: dict[str, str]) -> str:
    """Each ``- name<spec>`` entry of environment.yml pinned to the locked version (python, pip, -e . kept)."""

    def repin(m: re.Match) -> str:
        name = m.group(2)
        key = name.lower().replace("_", "-")
        if key in ("python", "pip") or key not in versions:
            return m.group(0)
        return f"{m.group(1)}{name}=={versions[key]}"

    return re.sub(r"^(\s+- (?:- )?)([A-Za-z0-9_.\-]+)[<>=!~][^\n#]*", repin, yml, flags=re.M)


if __name__ == "__main__":
    lock, yml = Path(sys.argv[1]), Path(sys.argv[2])
    yml.write_text(pin(yml.read_text(), locked_versions(lock)))
