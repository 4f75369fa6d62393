"""The broadcaster's pacing: evenly spaced send slots for the whole bot (`Pace`), each chat's interval and a group's
per-minute window (`ChatPace`), a run's queue entry for one chat (`ChatJob`), the flood watch (two 429s close
together pause every slot) and the backoff of a transient failure. No I/O but sleeping; docs/digests.md, "Delivery"."""
import asyncio
import math
import random
import time
from collections import deque
from dataclasses import dataclass

# Added to every computed "due" time: Telegram's windows are not ours to the millisecond.
MARGIN_S = 0.02


class Pace:
    """Evenly spaced send slots shared by every worker. A slot is reserved without a lock and slept for outside
    any lock; pause() pushes every later slot (and any reserved one not yet used) past a 429's retry_after."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._paused_until = 0.0

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if time.monotonic() >= self._paused_until:
                return
            # a 429 paused everything while this worker slept: take a slot after the pause

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class FloodWatch:
    """One 429 may be about one chat only (Telegram also sends them within the limits); a second one within
    `window_s` means the bot as a whole is over the limit."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self._recent: deque[float] = deque()

    def global_flood(self) -> bool:
        """Count a 429 now; True when it is the second within the window."""
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and now - self._recent[0] > self.window_s:
            self._recent.popleft()
        return len(self._recent) >= 2


class ChatPace:
    """When Telegram last answered for a chat and, for groups, the answer times of its last `limit` sends. Kept on
    the Broadcaster, so runs that overlap (the scheduler starts one per issue) pace a chat together."""

    def __init__(self, limit: int):
        self.last_answer = -math.inf
        self.window: deque[float] = deque(maxlen=limit)
        self.busy = False  # a run is sending to this chat right now (its answer, and so the next due time, pending)

    def answered(self, sent: bool) -> None:
        self.last_answer = time.monotonic()
        if sent:
            self.window.append(self.last_answer)

    def due_in(self, *, is_group: bool, interval_s: float, group_window_s: float) -> float:
        """Seconds until the next send to this chat keeps its interval (and a group's per-minute window)."""
        due = self.last_answer + interval_s
        if is_group and self.window.maxlen and len(self.window) == self.window.maxlen:
            due = max(due, self.window[0] + group_window_s)
        wait = due - time.monotonic()
        return wait + MARGIN_S if wait > 0 else 0.0


@dataclass
class Row:
    id: int
    issue_id: int


@dataclass
class ChatJob:
    """One chat's pending rows in one run, oldest issue first."""
    chat_id: int
    is_group: bool
    rows: deque[Row]
    pace: ChatPace
    failures: int = 0  # transient failures of the current part
    blocked: bool = False


def backoff_s(failures: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": retries of many chats spread out."""
    backoff = min(max_s, base_s * 2 ** (failures - 1))
    return backoff / 2 + rng.uniform(0, backoff / 2)
