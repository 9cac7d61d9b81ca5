"""The second use of the book: chapters run live in JupyterLab, with the project's kernel, widgets moving figures."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from colorlib.book import NOTEBOOKS
from colorlib.paths import REPO, SHARED_DATA

BIN = Path(sys.executable).parent
NODE_TOOLS = REPO / "build" / "node" / "node_modules" / "playwright-core"


def _make_lab_dry_run() -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "lab", "LAB_ARGS=--version"], cwd=REPO, capture_output=True, text=True)


def test_make_lab_registers_the_project_kernel():
    run = _make_lab_dry_run()
    assert run.returncode == 0, run.stderr[-2000:]
    specs = json.loads(subprocess.run([str(BIN / "jupyter"), "kernelspec", "list", "--json"], capture_output=True,
                                      text=True, check=True).stdout)["kernelspecs"]
    spec = specs["colorbook"]["spec"]
    assert spec["display_name"] == "Python (colorbook)" and Path(spec["argv"][0]).parent == BIN
    for nb in NOTEBOOKS.glob("*.ipynb"):  # every chapter opens with it
        assert json.loads(nb.read_text())["metadata"]["kernelspec"]["name"] == "colorbook", nb.name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {seconds} s")


def _write_lab_settings(folder: Path) -> None:
    """The settings the check runs JupyterLab with: every cell rendered (no virtual scrolling), and no news
    or update toasts (they would ask jupyter.org, and a toast can sit in front of what the check clicks)."""
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _node_result(run: subprocess.CompletedProcess) -> dict:
    """The JSON line a check script printed; a crash before it is one clear failure, with its stderr."""
    line = next((line for line in run.stdout.splitlines() if line.startswith("{")), None)
    if line is None:
        pytest.fail(f"lab_check.mjs exited {run.returncode} before its result line:\n{run.stderr[-3000:]}")
    result = json.loads(line)
    assert (run.returncode == 0) == (not result["problems"]), (run.returncode, result)
    return result


@pytest.mark.parametrize(("chapter", "slider", "value"), [("03_class_rebalancing", "λ", "0.05"),
                                                          ("10_hints", "hint x (%)", "80")])
def test_a_chapter_runs_live_and_its_slider_moves_the_figure(tmp_path, chapter, slider, value):
    if not NODE_TOOLS.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    assert _make_lab_dry_run().returncode == 0
    import papermill as pm

    # the chapter in the smoke profile, its parameters set the way papermill sets them, opened live
    work = tmp_path / "lab"
    work.mkdir()
    params = {"profile": "smoke", "data": str(SHARED_DATA) if SHARED_DATA.is_dir() else None}
    pm.execute_notebook(str(NOTEBOOKS / f"{chapter}.ipynb"), str(work / "chapter.ipynb"),
                        parameters=params, prepare_only=True, kernel_name="colorbook")
    _write_lab_settings(tmp_path / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    server_log = tmp_path / "server.log"  # a file: a pipe read only at exit can fill and freeze the server
    with open(server_log, "wb") as log:
        server = subprocess.Popen(
            [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
             "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.extension_manager=readonly"],  # nothing is asked of PyPI or of jupyter.org
            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    shots = REPO / "book" / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", 60)
        run = subprocess.run(["node", str(REPO / "tests" / "lab_check.mjs"),
                              f"http://127.0.0.1:{port}/lab/tree/chapter.ipynb?token={token}",
                              str(shots / f"live_{chapter}.png")],
                             capture_output=True, text=True, timeout=900,
                             env={"NODE_TOOLS": str(NODE_TOOLS.parent.parent), "PATH": "/usr/bin:/bin",
                                  "LAB_SLIDER": slider, "LAB_VALUE": value})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    logged = server_log.read_text(errors="replace")
    result = _node_result(run)
    assert not result["problems"], (result, run.stderr[-2000:], logged[-2000:])
    assert "KernelRestarter" not in logged and "restarting kernel" not in logged.lower(), logged[-2000:]
    assert result["kernel"] == "Python (colorbook)" and result["figureChanged"] and result["cells"] > 5
    # nothing left behind: no server, no kernel
    time.sleep(1)
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and (token in _cmdline(p) or _cwd(p) == work)]
    assert not left, [(_cmdline(p)) for p in left]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)


def _cwd(proc: Path) -> Path | None:
    try:
        return (proc / "cwd").resolve(strict=True)
    except OSError:
        return None


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
