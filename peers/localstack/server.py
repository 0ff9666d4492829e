"""Start LocalStack (host mode, no Docker) on a free loopback port, run something against it, stop it.

``python -m peers.localstack.server [--mock-config FILE] -- COMMAND...`` runs COMMAND with
``AWS_ENDPOINT_URL_SFN`` pointing at LocalStack (the workflow suite's backend switch), and exits with its
status. ``LocalStackServer`` is the same as a context manager, for the bench.

How it is kept to loopback and off the network:

* ``GATEWAY_SERVER=hypercorn``: hypercorn binds the host of ``GATEWAY_LISTEN``; the default twisted gateway
  binds 0.0.0.0 whatever it says;
* ``DNS_ADDRESS=0``: no DNS server (it would bind 0.0.0.0:53);
* ``SERVICES`` lists what Step Functions calls, and strict loading (the default) starts nothing else: Kinesis
  is left out, because kinesis-mock binds 0.0.0.0;
* ``DISABLE_EVENTS=1`` and ``SKIP_SSL_CERT_DOWNLOAD=1``: no analytics, no certificate download.

DynamoDB: LocalStack serves it with DynamoDB Local, which downloads a Java runtime and a jar from outside at
first use, and that fails here. ``PROVIDER_OVERRIDE_DYNAMODB=moto`` picks the provider this folder's package
registers instead (``orderflow_localstack/providers.py``): LocalStack's own moto fallback, the same way it
serves ACM or API Gateway, so unmocked DynamoDB states work with no download.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
HOME = REPO_ROOT / ".localstack"  # gitignored: the venv, the filesystem root, the logs
VENV_PYTHON = HOME / "venv" / "bin" / "python"
# Every service the workflow and the bench's five-state workload call, and STS (each task assumes its role).
SERVICES = "stepfunctions,sts,iam,dynamodb,sqs,sns,events"
START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 20.0
# LocalStack's default account: the account it answers as for the access key "testing".
ACCOUNT_ID = "000000000000"


class LocalStackError(RuntimeError):
    """LocalStack could not be started, or stopped answering."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def localstack_env(port: int, filesystem_root: Path, mock_config: Path | None) -> dict[str, str]:
    """The environment LocalStack runs with: ours without AWS settings, and its own configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(filesystem_root),
            "GATEWAY_LISTEN": f"{LOOPBACK}:{port}",
            "GATEWAY_SERVER": "hypercorn",
            "DNS_ADDRESS": "0",
            "SERVICES": SERVICES,
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "PROVIDER_OVERRIDE_DYNAMODB": "moto",
            "LOCALSTACK_CLI": "0",
        }
    )
    if mock_config is not None:
        env["SFN_MOCK_CONFIG"] = str(mock_config.resolve())
    return env


class LocalStackServer:
    """LocalStack in a child process group of its own, bound to ``127.0.0.1:<free port>``."""

    def __init__(
        self,
        *,
        python: Path = VENV_PYTHON,
        mock_config: Path | None = None,
        log_path: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.python = python
        self.mock_config = mock_config
        self.port = port or free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.filesystem_root = HOME / "filesystem" / str(self.port)
        self.log_path = log_path or HOME / f"localstack-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        if not self.python.exists():
            raise LocalStackError(f"no LocalStack venv at {self.python}: run `make localstack-venv` first")
        shutil.rmtree(self.filesystem_root, ignore_errors=True)
        self.filesystem_root.mkdir(parents=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = localstack_env(self.port, self.filesystem_root, self.mock_config)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.python), "-m", "localstack.runtime.main"],
                env=env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() ends whatever it started, and nothing else
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_S
        url = f"{self.endpoint}/_localstack/health"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise LocalStackError(
                    f"LocalStack exited with {self.process.returncode} while starting; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    services = json.loads(response.read()).get("services", {})
                if services.get("stepfunctions") in {"available", "running"}:
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.25)
        raise LocalStackError(f"LocalStack did not answer on {url} within {START_DEADLINE_S:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_DEADLINE_S)

    def __enter__(self) -> LocalStackServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m peers.localstack.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--mock-config", type=Path, help="the MockConfigFile LocalStack reads (SFN_MOCK_CONFIG)"
    )
    parser.add_argument("--python", type=Path, default=VENV_PYTHON, help="LocalStack's Python (its venv)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command to run against it")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with LocalStackServer(python=args.python, mock_config=args.mock_config) as server:
        print(f"LocalStack {server.endpoint} (pid {server.pid}, log {server.log_path})", flush=True)
        env = dict(
            os.environ,
            AWS_ENDPOINT_URL_SFN=server.endpoint,
            AWS_ACCOUNT_ID=ACCOUNT_ID,
            ORDERFLOW_SFN_ENGINE="localstack",
        )
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
