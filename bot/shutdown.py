"""Graceful shutdown on SIGTERM and SIGINT, the same in every mode (webhook, polling, console).

The first signal sets an event the transport waits on: it stops accepting (the webhook answers 503, so Telegram
retries later), lets the updates in flight finish up to a deadline, gives back what it had to cut, cancels background
jobs (journaled as interrupted), and then the runtime closes the engines and the database. A second signal stops
waiting for the deadline."""
from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger("bot.shutdown")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown:
    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.hurry = asyncio.Event()  # a second signal: stop waiting for in-flight work
        self.signal_name: str | None = None
        self._installed: list[signal.Signals] = []

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> Shutdown:
        loop = loop or asyncio.get_running_loop()
        for sig in SIGNALS:
            try:
                loop.add_signal_handler(sig, self.trigger, sig)
                self._installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or a platform without it
                log.debug("cannot handle %s here", sig.name)
        return self

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)
        self._installed.clear()

    def trigger(self, sig: signal.Signals | None = None) -> None:
        name = sig.name if sig is not None else "request"
        if self.requested.is_set():
            log.warning("%s again: not waiting for the work in flight any longer", name)
            self.hurry.set()
            return
        self.signal_name = name
        log.warning("%s received: shutting down (no new updates; finishing the ones in flight)", name)
        self.requested.set()

    async def wait(self) -> str:
        await self.requested.wait()
        return self.signal_name or "request"

