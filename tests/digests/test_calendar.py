"""arXiv's announcement calendar (Sunday–Thursday 20:00 US Eastern, DST-correct, holidays from the shipped table)
and digest windows that follow it, with a frozen clock: a daily digest across Thanksgiving and a weekend, New
Year's holidays, `empty=silent`, and a paused subscription that gets the papers announced while it was paused."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from digests.calendar import ArxivCalendar, issue_window, load_holidays
from digests.config import DigestSettings
from digests.service import DigestService
from handlers.i18n import Translator
from storage.db import create_sessionmaker
from storage.schema.core import Chat
from storage.schema.digest import DigestItem, DigestSource, Paper, Subscription

CAL = ArxivCalendar.load()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_holiday_table_is_arxivs_published_schedule():
    holidays = load_holidays()
    assert {date(2025, 11, 27), date(2026, 11, 26), date(2026, 12, 31), date(2025, 7, 6)} <= set(holidays)
    assert holidays[date(2026, 11, 26)] == "Thanksgiving"
    assert min(holidays).year == 2025 and max(holidays).year == 2027


def test_announcements_sunday_to_thursday_at_20_eastern_with_dst():
    # The week of 2026-11-16 (EST, UTC-5): Sun…Thu at 01:00 UTC the next day; none Friday or Saturday evening.
    week = CAL.announcements(utc(2026, 11, 15, 0, 0), utc(2026, 11, 22, 0, 0))
    assert [a.strftime("%a %d %H:%M") for a in week] == [
        "Mon 16 01:00", "Tue 17 01:00", "Wed 18 01:00", "Thu 19 01:00", "Fri 20 01:00"]
    # Summer (EDT, UTC-4): 20:00 Eastern is 00:00 UTC.
    assert CAL.announcement_time(date(2026, 6, 16)) == utc(2026, 6, 17, 0, 0)
    # The DST switch (Sunday 2026-03-08): Thursday before at 01:00 UTC, the Sunday evening itself at 00:00 UTC.
    assert CAL.next_announcement(utc(2026, 3, 6, 12, 0)) == utc(2026, 3, 9, 0, 0)
    assert CAL.last_announcement(utc(2026, 3, 8, 12, 0)) == utc(2026, 3, 6, 1, 0)


def test_thanksgiving_and_new_year_have_no_announcement():
    # Thanksgiving 2026 (Thursday 26 November): nothing from Wednesday's announcement until Sunday's.
    assert CAL.announcements(utc(2026, 11, 26, 2, 0), utc(2026, 11, 29, 23, 0)) == []
    assert CAL.quiet_reason(utc(2026, 11, 26, 6, 0), utc(2026, 11, 27, 6, 0)) == "holiday"
    assert CAL.quiet_reason(utc(2026, 11, 27, 6, 0), utc(2026, 11, 28, 6, 0)) == "weekend"
    assert CAL.next_announcement(utc(2026, 11, 26, 12, 0)) == utc(2026, 11, 30, 1, 0)
    # New Year 2026/27: Tuesday 29 and Thursday 31 December are holidays; Wednesday 30 is announced.
    year_end = CAL.announcements(utc(2026, 12, 28, 12, 0), utc(2027, 1, 4, 12, 0))
    assert [a.date().isoformat() for a in year_end] == ["2026-12-29", "2026-12-31", "2027-01-04"]
    assert CAL.quiet_reason(utc(2026, 12, 31, 6, 0), utc(2027, 1, 1, 6, 0)) == "holiday"
    assert CAL.next_announcement(utc(2027, 1, 1, 6, 0)) == utc(2027, 1, 4, 1, 0)  # Sunday 3 January, 20:00 EST


def test_window_starts_where_the_previous_issue_ended():
    now = utc(2026, 12, 15, 6, 0)
    paused = issue_window(CAL, now=now, covered_until=utc(2026, 11, 30, 6, 0), previous_slot=now - timedelta(1),
                          lookback_days=7, catchup_days=30)
    assert paused.since == utc(2026, 11, 30, 6, 0) and paused.quiet is None
    fresh = issue_window(CAL, now=now, covered_until=None, previous_slot=now - timedelta(1), lookback_days=7,
                         catchup_days=30)
    assert fresh.since == now - timedelta(days=7)
    ancient = issue_window(CAL, now=now, covered_until=utc(2025, 1, 1), previous_slot=now - timedelta(1),
                           lookback_days=7, catchup_days=30)
    assert ancient.since == now - timedelta(days=30)  # catch-up is bounded
    off = issue_window(None, now=utc(2026, 11, 28, 6, 0), covered_until=utc(2026, 11, 27, 6, 0),
                       previous_slot=utc(2026, 11, 27, 6, 0), lookback_days=7, catchup_days=30)
    assert off.quiet is None  # DIGEST_CALENDAR=off: no day is quiet


# ---------- digests through the service, frozen clock ----------
async def _world(sessionmaker, *, empty="note"):
    async with sessionmaker.begin() as session:
        session.add(Chat(id=-1001, type="supergroup", title="ML"))
        source = DigestSource(kind="arxiv", locator="cat:cs.CL", name="arXiv cs.CL", active=True, failures=0,
                              items_total=0)
        session.add(source)
        subscription = Subscription(chat_id=-1001, topics=["speech"], language="en", schedule="daily", time="09:00",
                                    timezone="Europe/Moscow", size=5, empty_policy=empty)
        session.add(subscription)
    return source.id, subscription.id


async def _announce(sessionmaker, source_id: int, arxiv_id: str, title: str, announced: datetime) -> None:
    """A paper announced (its arXiv `published` time, as the fake clock has it) and fetched half an hour later."""
    async with sessionmaker.begin() as session:
        paper = Paper(key=f"arxiv:{arxiv_id}", title=title, abstract="A study of speech.", language="en",
                      first_seen_at=announced)
        session.add(paper)
        await session.flush()
        session.add(DigestItem(source_id=source_id, external_id=arxiv_id, paper_id=paper.id, title=title,
                               text="A study of speech.", language="en", published_at=announced,
                               created_at=announced + timedelta(minutes=30)))


def _service(sessionmaker) -> DigestService:
    return DigestService(DigestSettings(_env_file=None, digest_arxiv_categories=""), sessionmaker,
                         translator=Translator)


@pytest.fixture
def sessionmaker(migrated_engine):
    return create_sessionmaker(migrated_engine)


async def test_daily_digest_across_thanksgiving_and_the_weekend(sessionmaker):
    source_id, sub_id = await _world(sessionmaker)
    service = _service(sessionmaker)
    await _announce(sessionmaker, source_id, "2611.00001", "Speech tokens, Wednesday", CAL.announcement_time(
        date(2026, 11, 25)))
    await _announce(sessionmaker, source_id, "2611.00002", "Speech at scale, Sunday", CAL.announcement_time(
        date(2026, 11, 29)))
    days = {}
    for day in (26, 27, 28, 29, 30):  # each day at 09:00 Moscow (06:00 UTC)
        days[day] = await service.build_issue(sub_id, utc(2026, 11, day, 6, 0))
    assert days[26].papers == 1 and "Speech tokens, Wednesday" in days[26].text
    # Thursday was Thanksgiving: Friday's digest says so and when the next announcement is, in Moscow time.
    assert days[27].papers == 0 and "holiday" in days[27].text and "2026-11-30 04:00" in days[27].text
    assert "no new papers" not in days[27].text
    assert "weekend" in days[28].text and "weekend" in days[29].text  # Friday and Saturday evenings
    assert days[30].papers == 1 and "Speech at scale, Sunday" in days[30].text
    # A Russian reader gets the same line in Russian.
    async with sessionmaker.begin() as session:
        (await session.get(Subscription, sub_id)).language = "ru"
    preview = await service.preview(sub_id, utc(2026, 11, 28, 7, 0))
    assert "arXiv ничего не публиковал" in preview and "выходные" in preview


async def test_silent_on_days_without_an_announcement(sessionmaker):
    source_id, sub_id = await _world(sessionmaker, empty="silent")
    service = _service(sessionmaker)
    await _announce(sessionmaker, source_id, "2612.00001", "Speech, the last Wednesday", CAL.announcement_time(
        date(2026, 12, 30)))
    assert (await service.build_issue(sub_id, utc(2026, 12, 30, 6, 0))).text == ""  # Tuesday 29: holiday
    assert (await service.build_issue(sub_id, utc(2026, 12, 31, 6, 0))).papers == 1
    assert (await service.build_issue(sub_id, utc(2027, 1, 1, 6, 0))).text == ""  # Thursday 31: holiday


async def test_paused_subscription_gets_what_was_announced_meanwhile(sessionmaker):
    source_id, sub_id = await _world(sessionmaker)
    service = _service(sessionmaker)
    first = await service.build_issue(sub_id, utc(2026, 11, 30, 6, 0))
    assert first.papers == 0
    async with sessionmaker.begin() as session:
        (await session.get(Subscription, sub_id)).active = False  # paused for two weeks
    for day, arxiv_id in ((1, "2612.00011"), (3, "2612.00013"), (8, "2612.00018")):
        await _announce(sessionmaker, source_id, arxiv_id, f"Speech paper of December {day}",
                        CAL.announcement_time(date(2026, 12, day)))
    assert await service.build_issue(sub_id, utc(2026, 12, 10, 6, 0)) is None  # paused: no issue
    async with sessionmaker.begin() as session:
        (await session.get(Subscription, sub_id)).active = True
    resumed = await service.build_issue(sub_id, utc(2026, 12, 15, 6, 0))
    # All three, although the first two were submitted and announced more than the 7-day lookback ago.
    assert resumed.papers == 3
    for day in (1, 3, 8):
        assert f"Speech paper of December {day}" in resumed.text
    async with sessionmaker() as session:
        covered = (await session.scalars(select(Subscription.covered_until))).one()
        assert covered.replace(tzinfo=UTC) == utc(2026, 12, 15, 6, 0)
