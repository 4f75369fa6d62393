"""The delivery rows' state machine (`digest_deliveries`), each transition one short transaction that runs to its
commit even when the broadcast is cancelled: pending → sending (the claim, right before the request) → sent |
blocked | failed | unknown, or back to pending (more parts, a 429, a transient failure). docs/digests.md."""
import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from digests.pacing import Row
from storage.repo import digest as repo
from storage.repo.core import deactivate_chat
from storage.repo.groups import IssueMeta, issue_meta

T = TypeVar("T")


async def finish(task: "asyncio.Future[T]") -> T | None:
    """Waits for a shielded task after our own cancellation; its result, or None if it failed."""
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue  # cancelled again: keep waiting, the transaction must end before the lock is free
        except Exception:  # noqa: BLE001 - the caller is being cancelled anyway
            return None
    return None if task.cancelled() or task.exception() else task.result()


async def to_the_end(work: Awaitable[T]) -> T:
    """Runs a state transition to its commit or rollback even when the broadcast is cancelled: a transaction cut
    half-way would leave the row's state unrecorded and, on SQLite, the write lock held by a dangling connection."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await finish(task)
        raise


class Deliveries:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        self.sessionmaker = sessionmaker

    async def stranded(self) -> list[Any]:
        async with self.sessionmaker() as session:
            return list(await repo.stranded_deliveries(session))

    async def settle_stranded(self, delivery_id: int, values: dict[str, Any]) -> int:
        return await to_the_end(self._settle_stranded(delivery_id, values))

    async def _settle_stranded(self, delivery_id: int, values: dict[str, Any]) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.settle_if_sending(session, delivery_id, **values)

    async def block_inactive(self, issue_ids: Sequence[int] | None) -> int:
        """Pending rows of chats marked inactive: `blocked` without a call."""
        return await to_the_end(self._block_inactive(issue_ids))

    async def _block_inactive(self, issue_ids: Sequence[int] | None) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.block_inactive_deliveries(session, issue_ids)

    async def pending(self, issue_ids: Sequence[int] | None) -> tuple[list[Any], dict[int, str],
                                                                      dict[int, IssueMeta]]:
        """Pending rows, each issue's text, and each issue's subscription, paper count and forum topic."""
        async with self.sessionmaker() as session:
            rows, texts = await repo.pending_deliveries(session, issue_ids)
            meta = await issue_meta(session, list(texts))
        return list(rows), texts, meta

    async def claim(self, row: Row, parts: int) -> list[int] | None:
        """pending → sending, committed before the request. Returns the ids of the parts already sent, or None when
        the row was not pending any more (another broadcaster claimed it first). Cancelled meanwhile, the claim
        still finishes and is then undone: no request went out, so the row is plainly pending again."""
        task = asyncio.ensure_future(self._claim(row, parts))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if await finish(task) is not None:
                await finish(asyncio.ensure_future(self._settle(row, state="pending")))
            raise

    async def _claim(self, row: Row, parts: int) -> list[int] | None:
        async with self.sessionmaker() as session, session.begin():
            return await repo.claim_delivery(session, row.id, parts)

    async def settle(self, row: Row, **values: Any) -> None:
        await to_the_end(self._settle(row, **values))

    async def _settle(self, row: Row, **values: Any) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repo.set_delivery(session, row.id, **values)

    async def block_chat(self, chat_id: int, row: Row, error: str) -> None:
        """The row `blocked` and the chat marked inactive, together."""
        await to_the_end(self._block_chat(chat_id, row, error))

    async def _block_chat(self, chat_id: int, row: Row, error: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repo.set_delivery(session, row.id, state="blocked", error=error)
            await deactivate_chat(session, chat_id)

    async def block_rows(self, ids: list[int]) -> int:
        return await to_the_end(self._block_rows(ids))

    async def _block_rows(self, ids: list[int]) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await repo.block_deliveries(session, ids)
