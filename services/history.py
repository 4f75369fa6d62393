"""Records what each command did, in the update's own transaction (rolled back with it on error).

A handler names its command once (`history.begin("leak", arguments, model=…)`) before it calls a service; when the
service raises a typed error, the feature's error router (handlers/failures.py) records the failure under that
name, and edits the progress message the handler showed (`history.progress`) instead of sending a new one."""
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.core import record_history


@dataclass(frozen=True)
class Progress:
    """A message the handler sent while the work runs ("running the probe…"): the error reply replaces it."""
    chat_id: int
    message_id: int


class HistoryRecorder:
    def __init__(self, session: AsyncSession, user_id: int | None, chat_id: int | None) -> None:
        self.session, self.user_id, self.chat_id = session, user_id, chat_id
        self.started = time.perf_counter()
        self.recorded = False
        self.command: str | None = None
        self.arguments = ""
        self.model: str | None = None
        self.progress: Progress | None = None

    def begin(self, command: str, arguments: str = "", *, model: str | None = None) -> None:
        """What the update is running, for the error router should the service fail."""
        self.command, self.arguments, self.model = command, arguments, model

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    async def record(self, command: str, arguments: str = "", status: str = "ok", result: dict[str, Any] | None = None,
                     model: str | None = None, latency_ms: int | None = None) -> None:
        self.recorded = True
        await record_history(self.session, user_id=self.user_id, chat_id=self.chat_id, command=command,
                             arguments=arguments, status=status, result=result, model=model,
                             latency_ms=self.elapsed_ms() if latency_ms is None else latency_ms)
