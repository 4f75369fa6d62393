"""arXiv's announcement calendar: new submissions are announced Sunday to Thursday at 20:00 US Eastern time
(America/New_York, so DST is followed), never on Friday or Saturday evenings, and not on arXiv's holidays
(`digests/arxiv_holidays.csv`, from arXiv's published schedule; extend it there). A digest's window runs from the
end of the window its previous issue covered, so a weekend, a holiday or a paused subscription loses nothing, and a
day without an announcement is named as such instead of "nothing matched"."""
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_AT = time(20, 0)
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # Sunday … Thursday (date.weekday(): Monday = 0)
HOLIDAYS_FILE = Path(__file__).with_name("arxiv_holidays.csv")
Quiet = Literal["weekend", "holiday"]


def load_holidays(path: Path = HOLIDAYS_FILE) -> dict[date, str]:
    """date → name, from the CSV (lines starting with # are comments)."""
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if line.strip() and not line.startswith("#"))
        return {date.fromisoformat(row["date"].strip()): row["name"].strip() for row in rows}


@dataclass(frozen=True)
class ArxivCalendar:
    holidays: frozenset[date]

    @classmethod
    def load(cls, path: Path = HOLIDAYS_FILE, extra: Iterable[date] = ()) -> "ArxivCalendar":
        return cls(frozenset(load_holidays(path)) | frozenset(extra))

    def announces_on(self, day: date) -> bool:
        """Is there an announcement on the evening of this (Eastern) date?"""
        return day.weekday() in ANNOUNCE_WEEKDAYS and day not in self.holidays

    @staticmethod
    def announcement_time(day: date) -> datetime:
        """20:00 Eastern on `day`, in UTC (EST or EDT as that day has it)."""
        return datetime.combine(day, ANNOUNCE_AT, tzinfo=EASTERN).astimezone(UTC)

    def announcements(self, start: datetime, end: datetime) -> list[datetime]:
        """Announcement times in (start, end], UTC, oldest first."""
        out = []
        day = start.astimezone(EASTERN).date()
        while (moment := self.announcement_time(day)) <= end:
            if moment > start and self.announces_on(day):
                out.append(moment)
            day += timedelta(days=1)
        return out

    def last_announcement(self, at: datetime) -> datetime:
        day = at.astimezone(EASTERN).date()
        while not (self.announces_on(day) and self.announcement_time(day) <= at):
            day -= timedelta(days=1)
        return self.announcement_time(day)

    def next_announcement(self, after: datetime) -> datetime:
        day = after.astimezone(EASTERN).date()
        while not (self.announces_on(day) and self.announcement_time(day) > after):
            day += timedelta(days=1)
        return self.announcement_time(day)

    def quiet_reason(self, start: datetime, end: datetime) -> Quiet:
        """Why (start, end] has no announcement: "holiday" when an evening that would have had one is a holiday."""
        day = start.astimezone(EASTERN).date()
        while self.announcement_time(day) <= end:
            if self.announcement_time(day) > start and day in self.holidays and day.weekday() in ANNOUNCE_WEEKDAYS:
                return "holiday"
            day += timedelta(days=1)
        return "weekend"


@dataclass(frozen=True)
class Window:
    """What an issue covers: papers posted or fetched after `since` (the previous issue's end, or the lookback for a
    first issue); `quiet` names why arXiv announced nothing since the previous issue (None: it did), and `next` is
    its next announcement."""
    since: datetime
    until: datetime
    quiet: Quiet | None
    next: datetime


def issue_window(calendar: ArxivCalendar | None, *, now: datetime, covered_until: datetime | None,
                 previous_slot: datetime, lookback_days: int, catchup_days: int) -> Window:
    """The window of an issue built at `now`. Its start is the end of the window the previous issue covered, so a
    digest that did not run (paused, the bot down, a weekend) loses nothing: at most `catchup_days` back. Papers an
    earlier issue left out because it was full stay candidates for `lookback_days`. Without a calendar no day is
    quiet."""
    if covered_until is not None and covered_until.tzinfo is None:  # SQLite gives stored UTC times back naive
        covered_until = covered_until.replace(tzinfo=UTC)
    floor = now - timedelta(days=catchup_days)
    since = max(floor, min(covered_until or now, now - timedelta(days=lookback_days)))
    if calendar is None:
        return Window(since, now, None, now)
    # Announcements since the previous issue (a first issue: since its previous slot).
    previous = max(floor, covered_until or previous_slot)
    quiet = None if calendar.announcements(previous, now) else calendar.quiet_reason(previous, now)
    return Window(since, now, quiet, calendar.next_announcement(now))


def previous_slot(subscription: "SlotLike", slot: datetime) -> datetime:
    """The slot before `slot`: a day earlier for a daily subscription, a week for a weekly one."""
    return slot - timedelta(days=7 if subscription.schedule == "weekly" else 1)


class SlotLike(Protocol):
    schedule: str


def render_quiet(l10n: Callable[..., str], window: Window, timezone: str) -> str:
    """One line: no arXiv announcement since the last issue (weekend/holiday), and when the next one is, in the
    subscriber's time zone."""
    local = window.next.astimezone(ZoneInfo(timezone))
    return l10n("digest-no-announcement", reason=window.quiet or "weekend", next=local.strftime("%Y-%m-%d %H:%M"),
                timezone=timezone)
