"""What the browser tests share: where chromium is, how it is launched, and a JupyterLab server
started the way `make lab` / `make formgrader` start it (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: its URL, token, notebook folder and server log."""

    def __init__(self, folder: Path, config_dir: Path, log: Path):
        self.folder, self.token, self.port, self.log = folder, secrets.token_hex(16), _free_port(), log
        tmp = folder.parent
        bindir = str(Path(sys.executable).parent)  # as the Makefile: nbgrader runs alembic from PATH
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # students plot inline
        env |= {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
                "JUPYTER_CONFIG_DIR": str(config_dir),
                "JUPYTERLAB_SETTINGS_DIR": str(tmp / "lab-settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "lab-workspaces"),
                "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
        cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
               f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               "--LabApp.expose_app_in_browser=True", f"--notebook-dir={folder}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(cmd, cwd=folder, env=env, stdout=self._log_file,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(self.url("api/status"), timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter lab did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
