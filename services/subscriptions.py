"""Digest subscriptions of a chat: subscribe (with the per-chat cap), list, unsubscribe. A change reaches the
scheduler of this process right after the update's transaction commits (the scheduler reads subscriptions through
its own session, so it must not look before the commit); other processes pick it up at their next minute's sync."""
import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from chatkit.errors import UserInputError
from chatkit.parsing import parse_id
from digests.subscription import SubscribeError, parse_subscribe
from storage.repo.digest import add_subscription, chat_subscriptions, deactivate_subscriptions
from storage.schema.digest import Subscription

log = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 5
_pending: set["asyncio.Task[None]"] = set()  # strong references to the resyncs in flight (the loop keeps weak ones)


class Resync(Protocol):
    """The digest scheduler, where this process runs one (digests.scheduler.DigestScheduler)."""

    async def sync_subscriptions(self) -> None: ...


@dataclass(frozen=True)
class Unsubscribed:
    removed: list[int]  # ids of the subscriptions stopped; empty when the argument chose none
    found: list[Subscription]  # the chat's active subscriptions before the change
    reason: str  # "" when something was removed, else unsubscribe-none | unsubscribe-which


class SubscriptionService:
    def __init__(self, session: AsyncSession, scheduler: Resync | None = None) -> None:
        self.session, self.scheduler = session, scheduler

    async def subscribe(self, chat_id: int, arguments: str | None, language: str,
                        created_by: int | None) -> Subscription:
        try:
            spec = parse_subscribe(arguments, language)
        except SubscribeError as error:
            raise UserInputError(f"subscribe-err-{error.code}", error.code, then="subscribe-usage",
                                 detail=error.detail) from error
        if len(await chat_subscriptions(self.session, chat_id)) >= MAX_SUBSCRIPTIONS:
            raise UserInputError("subscribe-err-too-many", "too many", limit=MAX_SUBSCRIPTIONS)
        subscription = await add_subscription(
            self.session, chat_id=chat_id, topics=spec.topics, language=spec.language, schedule=spec.schedule,
            time=spec.time, weekday=spec.weekday, timezone=spec.timezone, size=spec.size,
            empty_policy=spec.empty_policy, mode=spec.mode, created_by=created_by)
        self._resync_after_commit()
        return subscription

    async def list(self, chat_id: int) -> list[Subscription]:
        return await chat_subscriptions(self.session, chat_id)

    async def unsubscribe(self, chat_id: int, argument: str | None) -> Unsubscribed:
        """`all`, a subscription's number (`3` or `#3`), or nothing when the chat has exactly one."""
        found = await chat_subscriptions(self.session, chat_id)
        wanted = (argument or "").strip().lstrip("#").lower()
        chosen: Sequence[Subscription]
        if wanted == "all":
            chosen = found
        elif wanted and wanted[0].isdigit():
            number = parse_id(wanted)  # ASCII digits within BIGINT, else a localized reason (UserInputError)
            chosen = [s for s in found if s.id == number]
        elif not wanted and len(found) == 1:
            chosen = found
        else:
            chosen = []
        if not chosen:
            return Unsubscribed([], found, "unsubscribe-none" if not found else "unsubscribe-which")
        removed = [s.id for s in chosen]
        await deactivate_subscriptions(self.session, removed)
        self._resync_after_commit()
        return Unsubscribed(removed, found, "")

    def _resync_after_commit(self) -> None:
        scheduler = self.scheduler
        if scheduler is None:
            return

        def after_commit(_session: Session) -> None:
            task = asyncio.get_running_loop().create_task(_resync(scheduler), name="digest-resync")
            _pending.add(task)
            task.add_done_callback(_pending.discard)

        event.listen(self.session.sync_session, "after_commit", after_commit, once=True)


async def _resync(scheduler: Resync) -> None:
    try:
        await scheduler.sync_subscriptions()
    except Exception:  # logged; the minute's sync job tries again
        log.exception("digest scheduler resync failed")


