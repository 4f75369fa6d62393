"""Pieces the process benches share (bench/replicas.py, bench/faults.py): free ports, bot processes of a role with
their logs, readiness waits, Telegram-shaped updates, and throwaway PostgreSQL and Redis servers of their own (on
other ports, in temporary directories), so a bench may stop, restart or slow them without touching the shared
services other jobs use."""
from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def update_json(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A private-chat message update, a bot command entity when `text` starts with "/"."""
    entities = ([{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
                if text.startswith("/") else [])
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text, "entities": entities,
        "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en"}}}


@dataclass
class Process:
    """`python -m bot <role>` as a child process, its output in `<workdir>/<name>.<start>.log`."""
    role: str
    name: str
    env: dict[str, str]
    workdir: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        path = self.workdir / f"{self.name}.{self.starts}.log"
        self.logs.append(path)
        with path.open("wb") as log:
            self.popen = subprocess.Popen([sys.executable, "-m", "bot", self.role], cwd=self.workdir, env=self.env,
                                          stdout=log, stderr=subprocess.STDOUT)

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)

    async def wait(self, timeout: float = 90) -> int:
        assert self.popen is not None
        code = await asyncio.to_thread(self.popen.wait, timeout)
        self.exits.append(code)
        return code

    async def stop(self, timeout: float = 60) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            await self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            await self.wait(10)

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs if path.exists())


async def wait_ready(url: str, process: Process, timeout: float = 600) -> float:
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        while time.monotonic() - started < timeout:
            if process.popen is not None and process.popen.poll() is not None:
                raise SystemExit(f"{process.name} exited with {process.popen.returncode}: "
                                 f"{process.output()[-2000:]}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.25)
    raise SystemExit(f"{process.name} not ready at {url} after {timeout} s")


def _as_postgres() -> dict[str, Any]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


class Postgres:
    """A PostgreSQL cluster of our own (initdb in a temporary directory, its own port): stop, start and restart
    it at will."""

    def __init__(self, workdir: Path, port: int | None = None):
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not versions:
            raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = versions[-1].parent
        self.dir = workdir / "pgdata"
        self.port = port or free_port()
        self.log = workdir / "postgres.log"
        self.user = _as_postgres()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, check=check,
                              timeout=120, **self.user)

    def init(self) -> Postgres:
        self.dir.mkdir(parents=True)
        if self.user:
            os.chown(self.dir, self.user["user"], self.user["group"])
            os.chown(self.dir.parent, self.user["user"], self.user["group"])
        self._run("initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with (self.dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "max_connections = 200\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        self.start()
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "-t", "60", "-l", str(self.log), "restart")

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A redis-server of our own (no persistence) on its own port."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or free_port()
        self.workdir = workdir
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        with (self.workdir / "redis.log").open("ab") as log:
            self.popen = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)
        self.popen = None


class DelayProxy:
    """A TCP proxy that holds every chunk from client to server for `delay_s` (0: pass through): with PostgreSQL
    behind it, every statement of every connection is that much slower."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.delay_s = 0.0
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> DelayProxy:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, delayed: bool) -> None:
            try:
                while chunk := await source.read(65536):
                    if delayed and self.delay_s:
                        await asyncio.sleep(self.delay_s)
                    sink.write(chunk)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
