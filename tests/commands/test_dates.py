from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from jinja2 import Environment, StrictUndefined

from commands.dates import DateError, When, find_when, parse_when
from commands.errors import UserError
from commands.messages import SUPPORTED_LOCALES, message_keys, raw_message
from tests.commands.dates_corpus import (
    BASE,
    BEFORE_DST,
    CORPUS,
    FIND_CORPUS,
    PARIS,
    Case,
    FindCase,
    describe,
    find_outcome,
    outcome,
)

ERROR_KEYS = {
    "unparseable",
    "missing",
    "past",
    "future",
    "impossible",
    "weekday_mismatch",
    "ambiguous",
    "imprecise",
    "bad_range",
}


def render(error: DateError, lang: str) -> str:
    env = Environment(undefined=StrictUndefined)
    return env.from_string(raw_message(error.key, lang)).render(**error.params)


# ---- the corpus


def test_the_corpus_is_large_and_covers_both_languages() -> None:
    assert len(CORPUS) >= 150
    assert sum(c.lang == "fr" for c in CORPUS) >= 100
    assert sum(c.lang == "en" for c in CORPUS) >= 50
    assert len({c.now for c in CORPUS}) >= 5
    assert {c.expected for c in CORPUS if c.expected.startswith("!")} >= {
        f"!dates.{key}" for key in ERROR_KEYS - {"missing"}
    }


@pytest.mark.parametrize(
    "case", CORPUS, ids=[f"{c.lang}-{c.mode}-{c.now:%m%d}-{c.text}" for c in CORPUS]
)
def test_corpus(case: Case) -> None:
    assert outcome(case) == case.expected


@pytest.mark.parametrize("case", FIND_CORPUS, ids=[c.text for c in FIND_CORPUS])
def test_find_corpus(case: FindCase) -> None:
    got, rest = find_outcome(case)
    assert got == case.expected
    if not case.expected.startswith("!"):
        assert rest == case.rest


# ---- what a When holds


def test_start_is_aware_in_the_requested_zone() -> None:
    when = parse_when("demain 14h", now=BASE, tz="America/Montreal")
    assert when.start.tzinfo == ZoneInfo("America/Montreal")
    assert when.start == datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("America/Montreal"))
    assert when.has_time
    assert when.end is None
    assert when.rrule is None


def test_now_in_another_zone_is_read_in_the_requested_one() -> None:
    # 23:30 in Paris is 22:30 UTC: "demain" is still the 25th in Paris
    late = datetime(2026, 11, 24, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert parse_when("demain", now=late).date() == date(2026, 11, 25)
    assert parse_when("demain", now=late, tz="UTC").date() == date(2026, 11, 25)
    assert parse_when("demain", now=late, tz="Asia/Tokyo").date() == date(2026, 11, 26)


def test_a_date_alone_starts_at_local_midnight() -> None:
    when = parse_when("15/01", now=BASE)
    assert when == When(start=datetime(2027, 1, 15, tzinfo=PARIS), has_time=False)
    assert when.date() == date(2027, 1, 15)


def test_a_range_has_an_end_on_the_same_day() -> None:
    when = parse_when("mardi 8 décembre 14h-16h", now=BASE)
    assert when.start == datetime(2026, 12, 8, 14, tzinfo=PARIS)
    assert when.end == datetime(2026, 12, 8, 16, tzinfo=PARIS)


def test_a_time_skipped_by_the_clock_change_moves_forward() -> None:
    when = parse_when("demain 2h30", now=BEFORE_DST)
    assert when.start.utcoffset() == timedelta(hours=2)
    assert when.start.astimezone(ZoneInfo("UTC")) == datetime(
        2027, 3, 28, 1, 30, tzinfo=ZoneInfo("UTC")
    )
    assert parse_when("demain 14h", now=BEFORE_DST).start.utcoffset() == timedelta(hours=2)
    assert parse_when("14h", now=BEFORE_DST).start.utcoffset() == timedelta(hours=1)


def test_relative_hours_keep_the_minute_of_now() -> None:
    now = datetime(2026, 11, 24, 10, 17, 45, tzinfo=PARIS)
    assert parse_when("dans 2 heures", now=now).start == datetime(
        2026, 11, 24, 12, 17, tzinfo=PARIS
    )


def test_relative_hours_count_real_hours_across_the_change_of_the_clocks() -> None:
    night = datetime(2027, 3, 28, 1, 30, tzinfo=PARIS)  # 2:00 becomes 3:00
    when = parse_when("dans 2 heures", now=night)
    utc = ZoneInfo("UTC")
    assert when.start.astimezone(utc) - night.astimezone(utc) == timedelta(hours=2)
    assert (when.start.hour, when.start.minute) == (4, 30)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("demain", now=datetime(2026, 11, 24, 10))


def test_locale_names_are_normalised() -> None:
    assert parse_when("03/04", now=BASE, lang="fr_FR").date() == date(2027, 4, 3)
    with pytest.raises(DateError):
        parse_when("03/04", now=BASE, lang="en-GB")


# ---- recurrences


@pytest.mark.parametrize(
    "case", [c for c in CORPUS if c.expected.startswith("RRULE:")], ids=lambda c: c.text
)
def test_the_first_occurrence_is_the_first_of_the_rule(case: Case) -> None:
    when = parse_when(case.text, now=case.now, lang=case.lang)
    assert when.rrule is not None
    rule = rrulestr(when.rrule, dtstart=when.start.replace(tzinfo=None))
    assert next(iter(rule)) == when.start.replace(tzinfo=None)
    assert when.start >= case.now.replace(second=0) or not when.has_time
    assert when.date() >= case.now.date()


def test_an_every_other_week_series_starts_at_the_next_occurrence() -> None:
    after_the_meeting = datetime(2026, 11, 24, 15, 0, tzinfo=PARIS)
    when = parse_when("toutes les 2 semaines le mardi à 14h", now=after_the_meeting)
    assert when.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=14;BYMINUTE=0"
    assert when.start == datetime(2026, 12, 1, 14, 0, tzinfo=PARIS)


# ---- the conventions, checked on every day of two years


DAYS = [date(2026, 1, 1) + timedelta(days=k) for k in range(730)]


@pytest.mark.parametrize(
    ("weekday", "fr", "en"),
    [
        (0, "lundi", "monday"),
        (2, "mercredi", "wednesday"),
        (4, "vendredi", "friday"),
        (6, "dimanche", "sunday"),
    ],
)
def test_weekday_conventions_hold_every_day(weekday: int, fr: str, en: str) -> None:
    for today in DAYS:
        now = datetime.combine(today, datetime.min.time(), tzinfo=PARIS).replace(hour=10)
        monday = today - timedelta(days=today.weekday())
        bare = parse_when(fr, now=now).date()
        assert bare.weekday() == weekday
        assert today < bare <= today + timedelta(days=7)
        following = parse_when(f"{fr} prochain", now=now).date()
        assert following == parse_when(f"next {en}", now=now, lang="en").date()
        assert following.weekday() == weekday
        assert following >= monday + timedelta(days=7), today  # never in the current week
        assert following in (bare, bare + timedelta(days=7))
        this = parse_when(f"ce {fr}", now=now, mode="any").date()
        assert this == monday + timedelta(days=weekday)
        last = parse_when(fr, now=now, mode="done").date()
        assert last.weekday() == weekday
        assert today - timedelta(days=7) <= last < today


def test_month_and_year_conventions_hold_every_day() -> None:
    for today in DAYS:
        now = datetime.combine(today, datetime.min.time(), tzinfo=PARIS).replace(hour=10)
        end = parse_when("fin du mois", now=now).date()
        assert end.month == today.month
        assert (end + timedelta(days=1)).day == 1
        assert parse_when("la semaine prochaine", now=now).date() == today + timedelta(
            days=7 - today.weekday()
        )
        start = parse_when("début du mois", now=now).date()
        assert start.day == 1
        assert today <= start <= today + timedelta(days=31)
        for day, month in ((15, 1), (1, 3), (24, 12)):
            found = parse_when(f"{day:02d}/{month:02d}", now=now).date()
            assert (found.day, found.month) == (day, month)
            assert today <= found < date(today.year + 1, today.month, today.day) + timedelta(days=1)


# ---- errors


def test_date_error_is_a_user_error_naming_what_was_typed() -> None:
    with pytest.raises(DateError) as caught:
        parse_when("  lundi 8 décembre ", now=BASE)
    assert isinstance(caught.value, UserError)
    assert caught.value.key == "dates.weekday_mismatch"
    assert caught.value.params == {
        "text": "lundi 8 décembre",
        "typed_weekday": 0,
        "day": 8,
        "month": 12,
        "year": 2026,
        "weekday": 1,
        "time": "",
    }


def test_an_ambiguous_date_lists_its_readings() -> None:
    with pytest.raises(DateError) as caught:
        parse_when("03/04", now=BASE, lang="en")
    readings = caught.value.params["readings"]
    assert [(r["day"], r["month"], r["year"]) for r in readings] == [(4, 3, 2027), (3, 4, 2027)]
    message = render(caught.value, "en")
    assert "4 March 2027" in message
    assert "3 April 2027" in message


def test_midnight_with_a_date_asks_which_end_of_the_day() -> None:
    with pytest.raises(DateError) as caught:
        parse_when("demain minuit", now=BASE)
    assert [r["time"] for r in caught.value.params["readings"]] == ["00:00", "23:59"]


def test_a_past_date_says_when_it_was() -> None:
    with pytest.raises(DateError) as caught:
        parse_when("aujourd'hui 9h", now=BASE)
    assert caught.value.key == "dates.past"
    assert render(caught.value, "fr") == (
        "« aujourd'hui 9h », c'est le mardi 24 novembre 2026 à 09:00 : c'est déjà passé. "
        "Donnez une date à venir, par exemple : demain 14h, vendredi prochain, 15/01/2027."
    )


def test_the_same_minute_is_not_past() -> None:
    now = datetime(2026, 11, 24, 10, 0, 40, tzinfo=PARIS)
    assert parse_when("aujourd'hui 10h", now=now).start == datetime(2026, 11, 24, 10, tzinfo=PARIS)
    assert parse_when("10h", now=now).date() == date(2026, 11, 24)
    with pytest.raises(DateError, match=r"dates\.past"):
        parse_when("aujourd'hui 9h59", now=now)


def test_modes() -> None:
    assert parse_when("hier", now=BASE, mode="any").date() == date(2026, 11, 23)
    assert parse_when("demain", now=BASE, mode="any").date() == date(2026, 11, 25)
    assert parse_when("aujourd'hui", now=BASE, mode="done").date() == date(2026, 11, 24)
    assert parse_when("aujourd'hui", now=BASE, mode="deadline").date() == date(2026, 11, 24)
    with pytest.raises(DateError, match=r"dates\.future"):
        parse_when("aujourd'hui 18h", now=BASE, mode="done")
    with pytest.raises(ValueError, match="unknown mode"):
        parse_when("demain", now=BASE, mode="later")  # type: ignore[arg-type]


def _every_error() -> list[tuple[str, DateError]]:
    errors = []
    for case in CORPUS:
        if case.expected.startswith("!"):
            try:
                parse_when(case.text, now=case.now, lang=case.lang, mode=case.mode)
            except DateError as error:
                errors.append((case.text, error))
    for find_case in FIND_CORPUS:
        if find_case.expected.startswith("!"):
            try:
                find_when(find_case.text, now=BASE, lang=find_case.lang)
            except DateError as error:
                errors.append((find_case.text, error))
    return errors


def test_the_catalog_has_every_key_in_both_languages() -> None:
    assert message_keys("dates") == ERROR_KEYS
    raised = {error.key.removeprefix("dates.") for _, error in _every_error()}
    assert raised == ERROR_KEYS


@pytest.mark.parametrize("lang", SUPPORTED_LOCALES)
def test_every_error_renders_with_what_was_typed_and_an_example(lang: str) -> None:
    for text, error in _every_error():
        message = render(error, lang)
        assert error.params["text"] in message, (text, message)
        assert len(message) > len(error.params["text"]) + 40
        assert "{" not in message
        assert "}" not in message


# ---- finding a date in a title


def test_a_long_title_without_a_date_is_missing_and_quick_to_say_so() -> None:
    title = "Préparer le bilan de l'atelier citoyen avec les élus " * 100
    with pytest.raises(DateError) as caught:
        find_when(title, now=BASE)
    assert caught.value.key == "dates.missing"
    when, rest = find_when(title + "vendredi prochain", now=BASE)
    assert when.date() == date(2026, 12, 4)
    assert rest == title.strip()


@pytest.mark.parametrize(
    "title",
    [
        "Envoyer le bilan",
        "Publish the call",
        "Recruter 2 stagiaires",
        "Review the 2 drafts",
        "May the force be with you",
        "Le soir des élections",
        "Rédiger le 2e rapport",
        "Send a report on the budget",
        "Atelier à la mairie",
        "Lot 3 : mobilier urbain",
    ],
)
def test_ordinary_titles_hold_no_date(title: str) -> None:
    with pytest.raises(DateError, match=r"dates\.missing"):
        find_when(title, now=BASE, lang="fr")


def test_find_prefers_the_start_for_meetings() -> None:
    text = "demain 14h Revue du 15/01"
    assert find_when(text, now=BASE)[0].date() == date(2027, 1, 15)
    when, rest = find_when(text, now=BASE, prefer="start")
    assert when.start == datetime(2026, 11, 25, 14, tzinfo=PARIS)
    assert rest == "Revue du 15/01"


def test_find_keeps_the_text_around_a_date_in_the_middle() -> None:
    when, rest = find_when("Réunion demain 14h salle B", now=BASE)
    assert when.start == datetime(2026, 11, 25, 14, tzinfo=PARIS)
    assert rest == "Réunion salle B"


def test_find_reports_errors_in_the_expression_found() -> None:
    with pytest.raises(DateError) as caught:
        find_when("Relancer les partenaires lundi 8 décembre", now=BASE)
    assert caught.value.params["text"] == "lundi 8 décembre"


def test_describe_notation() -> None:
    when = parse_when("tous les lundis de 9h à 10h", now=BASE)
    assert describe(when) == (
        "RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00-10:00"
    )
