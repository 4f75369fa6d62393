"""Records what each command did, in the update's own transaction (rolled back with it on error)."""
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repo.core import record_history


class HistoryRecorder:
    def __init__(self, session: AsyncSession, user_id: int | None, chat_id: int | None):
        self.session, self.user_id, self.chat_id = session, user_id, chat_id
        self.started = time.perf_counter()
        self.recorded = False

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    async def record(self, command: str, arguments: str = "", status: str = "ok", result: dict[str, Any] | None = None,
                     model: str | None = None, latency_ms: int | None = None) -> None:
        self.recorded = True
        await record_history(self.session, user_id=self.user_id, chat_id=self.chat_id, command=command,
                             arguments=arguments, status=status, result=result, model=model,
                             latency_ms=self.elapsed_ms() if latency_ms is None else latency_ms)
