"""Starting `python -m bot <role>` as a child process against loopback fakes, and reading its probes."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHrolesTestTokenSecretPart_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """One bot process; its output goes to a file (read it with `.output()`), never to a pipe nobody drains."""

    @staticmethod
    def base_env() -> dict[str, str]:
        """This environment without any bot setting of the developer's, plus the test token."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "WEBHOOK_"))}
        return {**env, "PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "LOG_LEVEL": "INFO"}

    def __init__(self, role: str, env: dict[str, str], workdir: Path, name: str | None = None):
        self.role, self.workdir = role, workdir
        self.log_path = workdir / f"{name or role}.log"
        full = {**self.base_env(), **env}
        self._log = open(self.log_path, "w")
        # cwd is a scratch folder: no developer's .env is read.
        self.process = subprocess.Popen([sys.executable, "-m", "bot", role], cwd=workdir, env=full,
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait(30)


async def get(url: str, timeout: float = 5) -> tuple[int, str]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async with http.get(url) as response:
            return response.status, await response.text()


async def wait_until_up(child: Child, url: str, timeout: float = 120) -> None:
    """Until `url` answers at all (any status): the process is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise AssertionError(f"{child.role} exited with {child.process.returncode}:\n{child.output()[-3000:]}")
        try:
            await get(url, timeout=2)
            return
        except (TimeoutError, aiohttp.ClientError, OSError):
            await asyncio.sleep(0.2)
    raise AssertionError(f"{child.role} did not answer {url} in {timeout} s:\n{child.output()[-3000:]}")


async def wait_for_status(url: str, status: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await get(url, timeout=3)
            if last[0] == status:
                return last[1]
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            last = (0, repr(error))
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} in {timeout} s; last: {last}")
