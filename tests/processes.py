"""Coordo's processes as a PaaS runs them: the ``Procfile``'s command lines, started with
an environment, stopped at the end. For the deployment test and the HTTP benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """``name: command`` lines of the Procfile."""
    kinds: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            kinds[name.strip()] = command.strip()
    return kinds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment a PaaS gives: ours plus ``settings``, the virtualenv's ``bin``
    first on ``PATH`` (the Procfile calls ``uvicorn`` and ``python``), no ``.env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATTERMOST_", "SLACK_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


class Processes:
    """Processes started from Procfile lines; each in its own session, so stopping one
    stops the children it forked (uvicorn's workers) and nothing else."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, kind: str, settings: Mapping[str, str], *, label: str = ""
    ) -> subprocess.Popen[bytes]:
        command = procfile()[kind]
        name = label or kind
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=self.logs,
            env=process_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started.append((name, process))
        return process

    def run(self, kind: str, settings: Mapping[str, str], timeout: float = 120) -> None:
        """Run a one-off Procfile line (``release``) to its end; fail if it fails."""
        process = self.start(kind, settings)
        if process.wait(timeout) != 0:
            raise RuntimeError(f"{kind} failed:\n{self.output(kind)}")

    def output(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> int:
        """SIGTERM to the process's group (as a PaaS does on a restart), then wait."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        return process.returncode

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            self.stop(process)


@contextmanager
def processes(logs: Path) -> Iterator[Processes]:
    procs = Processes(logs)
    try:
        yield procs
    finally:
        procs.stop_all()


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll ``/healthz`` until the web app answers (its workers are up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"the web app at {url} did not come up")


def web_settings(port: int, workers: int, settings: Mapping[str, str]) -> dict[str, str]:
    return {"PORT": str(port), "WEB_CONCURRENCY": str(workers), **settings}
