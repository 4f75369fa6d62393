"""What every fake server shares: an aiohttp app served on 127.0.0.1 (port 0 picks a free one), usable as an
async context manager."""
from typing import Self

from aiohttp import web


class LoopbackServer:
    app: web.Application

    _runner: web.AppRunner | None = None
    port: int | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> Self:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.port = self._runner.addresses[0][1]  # the port the OS chose when `port` is 0
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()
