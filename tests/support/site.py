"""`undersigned serve` in a child process, on a free loopback port, for browser and HTTP tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_postgres_database(url: str) -> tuple[str, str]:
    """A new empty database on the same server (tests of a running site must not share one)."""
    import psycopg

    name = f"undersigned_site_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres_database(url: str, name: str) -> None:
    """Drop ``name`` (made by _fresh_postgres_database) on the server of ``url``, connections and all."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RunningSite:
    def __init__(self, *, data_dir: Path, smtp_port: int, extra_env: dict | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.smtp_port = smtp_port
        self.extra_env = extra_env or {}
        self.output: list[str] = []
        self.organizer_link = None
        self.database_url = None
        self._postgres_name = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EMAIL_URL")}
        env.update({
            "DATA_DIR": str(self.data_dir),
            "SITE_URL": self.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "PUBLICATION_INTERVAL": "0",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        })
        base = os.getenv("DATABASE_URL", "")
        if base.startswith("postgres"):
            self.database_url, self._postgres_name = _fresh_postgres_database(base)
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        self.log_path = self.data_dir / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "undersigned", "serve", "--port", str(self.port), "--workers", "2"],
            env=env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"undersigned serve exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/letters", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"undersigned serve did not answer in time:\n{self.log()}")
        found = re.search(r"(http://\S+/organizer/sign-in/\S+/)", self.log())
        self.organizer_link = found.group(1) if found else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self._postgres_name:
            drop_postgres_database(os.environ["DATABASE_URL"], self._postgres_name)
