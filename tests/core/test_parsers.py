"""Every user-facing parser is total (hypothesis): for any input it returns a value or raises the localized
user-input error — never ValueError, OverflowError, OSError or anything else. A few hundred cases per parser by
default; the `slow`-marked twins run 10 000 each (`pytest -m slow tests/core/test_parsers.py`).

Parsers: numbers, ids, times, weekdays, time zones, callback data (chatkit/parsing.py), every callback-data factory of
the handlers, `/subscribe` options (digests/subscription.py), `/leak` and `/spell` input (services), `/history N`,
and webhook bodies (bot/transports/telegram.py). Plus the hostile inputs of the issue, one by one."""
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import HealthCheck, example, given, settings, strategies as st

from bot.transports.telegram import BadUpdate, parse_update_body
from chatkit.errors import UserInputError
from chatkit.parsing import (
    INT64_MAX,
    clean_payload,
    clean_text,
    parse_callback,
    parse_id,
    parse_int,
    parse_time,
    parse_timezone,
    parse_weekday,
)
from digests.subscription import SubscribeError, parse_subscribe
from handlers.i18n import LANGUAGES, Translator

FAST, SLOW = 300, 10_000
HOSTILE = ["²", "٣", "۵", "1²", "9" * 5000, "-0", "0", "+5", " 7 ", "1e3", "0x10", "1_000", "\x00", "\u202e12",
           "١٢:٣٠", "25:00", "23:60", "7:5", "a" * 300, "Europe/" + "x" * 300, "../../etc/passwd", "/etc/localtime",
           "Europe/Moscow\x00", "UTC", "utc", "europe/moscow", "", " ", "\ud800", "9223372036854775808",
           "-9223372036854775809", "18446744073709551616"]
# Digits of every script, signs, separators, controls, bidi overrides, surrogates, and anything hypothesis likes.
tricky = st.text(alphabet=st.one_of(st.sampled_from("0123456789²³¹٣۵१໑:@#=,-+_./ \t\n\x00\u202e\u2066Ee"),
                                    st.characters()), max_size=40)
anything = st.one_of(tricky, st.text(max_size=300), st.sampled_from(HOSTILE))


def total(function: Callable[[Any], Any], allowed: tuple[type[BaseException], ...] = (UserInputError,)
          ) -> Callable[[Any], None]:
    """A check that `function(value)` returns or raises one of `allowed`, and that a UserInputError's message
    exists and renders in every language."""
    def check(value: Any) -> None:
        try:
            function(value)
        except allowed as error:
            if isinstance(error, UserInputError):
                for lang in LANGUAGES:
                    text = error.localize(Translator(lang))
                    assert text and text != error.key, (error.key, lang)  # the message exists in every language
    return check


def property_pair(strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> tuple[Any, Any]:
    """Two tests of one property: a few hundred cases by default, ten thousand in the slow run."""
    @settings(max_examples=FAST, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    @example(HOSTILE[0])
    def fast(value: Any) -> None:
        check(value)

    @pytest.mark.slow
    @settings(max_examples=SLOW, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def slow(value: Any) -> None:
        check(value)

    return fast, slow


# ---------------------------------------------------------------- chatkit/parsing.py
def _int(value: str) -> None:
    number = parse_int(value, minimum=1, maximum=20)
    assert 1 <= number <= 20 and value.strip().isascii()


def _id(value: str) -> None:
    number = parse_id(value)
    assert 1 <= number <= INT64_MAX


def _time(value: str) -> None:
    hours, minutes = parse_time(value).split(":")
    assert 0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59


def _timezone(value: str) -> None:
    import zoneinfo

    zoneinfo.ZoneInfo(parse_timezone(value))  # what it returns is a zone that loads


test_parse_int, test_parse_int_slow = property_pair(anything, total(_int))
test_parse_id, test_parse_id_slow = property_pair(anything, total(_id))
test_parse_time, test_parse_time_slow = property_pair(anything, total(_time))
test_parse_weekday, test_parse_weekday_slow = property_pair(anything, total(parse_weekday))
test_parse_timezone, test_parse_timezone_slow = property_pair(anything, total(_timezone))
test_parse_callback, test_parse_callback_slow = property_pair(
    st.one_of(anything, st.builds(lambda a, b: f"hist:{a}:{b}", anything, anything)),
    total(lambda data: parse_callback(data, "hist", "id", "int")))


# ---------------------------------------------------------------- callback data of every handler
def _factories() -> list[type[CallbackData]]:
    from handlers.routers import FEATURES

    found = []
    for module in FEATURES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, CallbackData) and value is not CallbackData:
                found.append(value)
    return found


FACTORIES = _factories()
callback_strings = st.one_of(
    anything,
    st.builds(lambda factory, parts: ":".join([factory.__prefix__, *parts]), st.sampled_from(FACTORIES),
              st.lists(anything, min_size=0, max_size=5)))


def _callback(data: str) -> None:
    """aiogram's filter unpacks with `except (TypeError, ValueError)`: anything else would escape as a crash; what
    unpacks must hold no integer BIGINT cannot store."""
    for factory in FACTORIES:
        try:
            unpacked = factory.unpack(data)
        except (TypeError, ValueError):
            continue
        for name, value in unpacked.model_dump().items():
            if isinstance(value, int) and not isinstance(value, bool):
                assert -(2 ** 63) <= value <= INT64_MAX, (factory.__name__, name, value)


def test_every_handler_has_its_callback_data_checked():
    assert {factory.__prefix__ for factory in FACTORIES} >= {"hist", "forget", "leak", "fv", "fa", "lang"}


test_callback_data, test_callback_data_slow = property_pair(callback_strings, _callback)


# ---------------------------------------------------------------- /subscribe, /leak, /spell
subscribe_text = st.one_of(
    anything,
    st.builds(lambda topic, key, value: f"{topic} {key}={value}", st.sampled_from(["llm", "dpo", "", "a,b"]),
              st.sampled_from(["size", "weekly", "daily", "tz", "lang", "empty", "bogus"]), anything),
    st.builds(lambda day, at: f"llm weekly={day}@{at}", anything, anything))


def _subscribe(text: str) -> None:
    try:
        spec = parse_subscribe(text)
    except SubscribeError as error:  # the /subscribe error: its code names a localized message (digest.ftl)
        for lang in LANGUAGES:
            assert Translator(lang)(f"subscribe-err-{error.code}", detail=error.detail) != f"subscribe-err-{error.code}"
        return
    assert 1 <= spec.size <= 20 and spec.topics


test_subscribe_options, test_subscribe_options_slow = property_pair(subscribe_text, _subscribe)


def _leak(text: str) -> None:
    from services.leak import LeakPolicy, LeakService

    service = LeakService(None, None, LeakPolicy(samples=2, temperature=1.0, max_new_tokens=8, max_chars=300,
                                                 bench_samples=1))  # type: ignore[arg-type]
    service.probe_for(text, "en")


def _spell(text: str) -> None:
    from services.spell import parse

    parse(text)


leak_text = st.one_of(anything, st.builds(lambda a, b: f"{a} | {b}", anything, anything))
test_leak_input, test_leak_input_slow = property_pair(leak_text, total(_leak))
test_spell_input, test_spell_input_slow = property_pair(anything, total(_spell))


# ---------------------------------------------------------------- webhook bodies
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | anything,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(anything, inner, max_size=4),
                           max_leaves=20)
message_like = st.fixed_dictionaries({
    "update_id": st.one_of(st.integers(), anything),
    "message": st.one_of(json_values, st.fixed_dictionaries({
        "message_id": st.one_of(st.integers(), anything), "date": st.integers(),
        "chat": st.fixed_dictionaries({"id": st.integers(), "type": st.one_of(st.just("private"), anything)}),
        "from": st.fixed_dictionaries({"id": st.integers(), "is_bot": st.booleans(), "first_name": anything}),
        "text": anything}))})
bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                   message_like.map(lambda v: json.dumps(v).encode()))


def _body(raw: bytes) -> None:
    try:
        update_id, body = parse_update_body(raw)
    except BadUpdate:
        return
    assert 0 <= update_id <= INT64_MAX and body["update_id"] == update_id
    assert clean_payload(body) == body  # stored as it is: nothing unstorable left


test_webhook_body, test_webhook_body_slow = property_pair(bodies, _body)


# ---------------------------------------------------------------- the hostile list, by name
@pytest.mark.parametrize("value", ["²", "٣", "9" * 5000, "-1", "21", "1_0", "+5"])
def test_hostile_numbers_get_a_reason(value):
    with pytest.raises(UserInputError) as raised:
        parse_int(value, minimum=1, maximum=20)
    assert raised.value.key in ("input-not-a-number", "input-out-of-range")
    assert len(raised.value.params["value"]) <= 40  # a 5000-digit input is not echoed whole


def test_long_timezone_and_paths_are_refused_without_touching_files():
    for value in ("Europe/" + "x" * 300, "../../etc/passwd", "/etc/localtime", "Europe/Moscow\x00", "Europe//X"):
        with pytest.raises(UserInputError):
            parse_timezone(value)
    assert parse_timezone("europe/moscow") == "Europe/Moscow" and parse_timezone("UTC") == "UTC"


def test_ids_outside_bigint_are_refused():
    assert parse_id(str(INT64_MAX)) == INT64_MAX
    for value in (str(INT64_MAX + 1), "18446744073709551616", "0", "-5", "٣"):
        with pytest.raises(UserInputError):
            parse_id(value)
    assert parse_id("-100123", signed=True) == -100123


def test_subscribe_reasons_for_the_hostile_options():
    for text, code in (("llm size=²", "bad-size"), ("llm size=" + "9" * 5000, "bad-size"),
                       ("llm weekly=٣", "bad-weekday"), ("llm tz=" + "A" * 300, "bad-timezone"),
                       ("llm daily=٠٩:٠٠", "bad-time")):
        with pytest.raises(SubscribeError) as raised:
            parse_subscribe(text)
        assert raised.value.code == code and len(raised.value.detail) <= 40


def test_clean_text_drops_nul_and_lone_surrogates():
    assert clean_text("a\x00b\ud800c") == "ab\ufffdc"
    assert clean_text("😀 ok") == "😀 ok"


# ---------------------------------------------------------------- bidi isolation in every language
RLO = "\u202e"


@pytest.mark.parametrize("text", [f"/lang x{RLO}yz", f"/unknowncmd{RLO}abc", f"/subscribe llm size={RLO}5",
                                  f"/subscribe llm tz=Asia/{RLO}x"])
async def test_right_to_left_override_is_isolated_in_english_replies(harness, text):
    chat = harness.chat(user_id=4242, lang="en")
    calls = await chat.send(text)
    replies = [call.text for call in calls if call.text]
    assert replies, text
    echoed = [reply for reply in replies if RLO in reply]
    assert echoed, replies  # the bad input is echoed …
    for reply in echoed:  # … inside an isolate, so it cannot flip the rest of the line
        before, _, after = reply.partition(RLO)
        assert before.count("\u2068") > before.count("\u2069") and "\u2069" in after, reply


def test_plain_latin_values_are_not_wrapped_in_english():
    assert "\u2068" not in Translator("en")("input-bad-time", value="25:00")
    assert "\u2068" in Translator("en")("input-bad-time", value="שלום")
    assert "\u2068" in Translator("he")("input-bad-time", value="25:00")  # RTL languages isolate everything


# ---------------------------------------------------------------- the storage boundary
async def test_nul_and_lone_surrogates_are_stored_on_both_databases(migrated_engine):
    """PostgreSQL refuses NUL in text ("invalid byte sequence for encoding UTF8: 0x00") and UTF-8 cannot encode a
    lone surrogate: every string bound to any statement (ORM, Core, raw SQL) is cleaned on the way."""
    from sqlalchemy import select, text

    from storage.db import create_sessionmaker
    from storage.repo.core import upsert_user
    from storage.schema.core import HistoryEntry

    sessionmaker = create_sessionmaker(migrated_engine)
    async with sessionmaker() as session, session.begin():
        await upsert_user(session, user_id=77, first_name="A\x00da\ud800", last_name=None, username="a\x00",
                          telegram_language="en")
        session.add(HistoryEntry(user_id=77, chat_id=None, command="sub\x00mit", arguments="x\x00y\udfff",
                                 status="ok", result={}))
        await session.execute(text("UPDATE users SET last_name = :name WHERE id = 77"), {"name": "L\x00ast"})
    async with sessionmaker() as session:
        row = (await session.execute(text("SELECT first_name, last_name, username FROM users WHERE id = 77"))).one()
        entry = (await session.scalars(select(HistoryEntry).where(HistoryEntry.user_id == 77))).one()
    assert tuple(row) == ("Ada\ufffd", "Last", "a")
    assert (entry.command, entry.arguments) == ("submit", "xy\ufffd")


# ---------------------------------------------------------------- the hostile list through the real dispatcher
@pytest.mark.parametrize("text, expected", [
    ("/unsubscribe ²", "is not an id"),
    ("/unsubscribe ٣", "is not an id"),
    ("/unsubscribe " + "9" * 5000, "is not an id"),
    ("/unsubscribe 99999999999999999999", "is not an id"),
    ("/subscribe llm size=²", "size"),
    ("/subscribe llm size=" + "9" * 5000, "size"),
    ("/subscribe llm weekly=٣", "day"),
    ("/subscribe llm tz=" + "A" * 300, "timezone"),
    ("/history ²", "whole number"),
    ("/history " + "9" * 5000, "whole number"),
])
async def test_hostile_input_gets_a_localized_reason_not_the_apology(harness, text, expected):
    chat = harness.chat(user_id=4343, lang="en")
    replies = [call.text for call in await chat.send(text) if call.text]
    apology = Translator("en")("error-apology")
    assert replies and apology not in replies, replies
    assert any(expected in reply.lower() or expected in reply for reply in replies), replies
    assert all(len(reply) < 1000 for reply in replies)  # the 5000 digits are not echoed
