from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from jinja2 import Environment, StrictUndefined

from commands.dates import (
    DateError,
    When,
    _agrees,
    _may_be_a_date,
    _Text,
    _Tok,
    find_when,
    parse_when,
)
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
from tests.commands.dates_typed import TYPED, verdict

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
    "partial",
    "clash",
    "which_hour",
    "short_year",
}
# refusals of the rule that nothing typed is dropped or contradicted (FAMILIES holds them)
NEW_KEYS = {"partial", "clash", "which_hour", "short_year"}


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
        f"!dates.{key}" for key in ERROR_KEYS - {"missing", *NEW_KEYS}
    }
    assert {c.expected for c in FAMILIES} >= {f"!dates.{key}" for key in NEW_KEYS - {"partial"}}


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
    for case in [*CORPUS, *TYPED]:
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


# ---- what people type: every family is read, or refused by the rule

SATURDAY_16 = datetime(2027, 1, 10, 10, 0, tzinfo=PARIS)  # a Sunday; the 16th is a Saturday

FAMILIES = [
    # a day, "à" and an hour
    Case("samedi 16 à 18h", "fr", "2027-01-16 18:00", SATURDAY_16),
    Case("vendredi 15 à 16h", "fr", "2027-01-15 16:00", SATURDAY_16),
    Case("le 15 à 9h", "fr", "2026-12-15 09:00"),
    Case("le 15", "fr", "2026-12-15"),
    Case("Wednesday the 16th at 6pm", "en", "2026-12-16 18:00"),
    Case("15th at 2pm", "en", "2026-12-15 14:00"),
    # an hour with a part of the day
    Case("8 heures ce soir", "fr", "2026-11-24 20:00"),
    Case("à 3 heures cet après-midi", "fr", "2026-11-24 15:00"),
    Case("vendredi soir à 8h", "fr", "2026-11-27 20:00"),
    Case("this afternoon at 3:20", "en", "2026-11-24 15:20"),
    Case("tonight at 11", "en", "2026-11-24 23:00"),
    Case("tomorrow afternoon at 5", "en", "2026-11-25 17:00"),
    Case("9 tomorrow", "en", "2026-11-25 09:00"),
    Case("matin", "fr", "2026-11-25 09:00"),
    Case("après-midi", "fr", "2026-11-24 14:00"),
    Case("soir", "fr", "2026-11-24 18:00"),
    Case("ce soir à 2h", "fr", "!dates.clash"),
    Case("thursday morning at 3pm", "en", "!dates.clash"),
    Case("tomorrow at 3", "en", "!dates.which_hour"),
    # clock idioms
    Case("midi moins le quart", "fr", "2026-11-24 11:45"),
    Case("3h du mat", "fr", "2026-11-25 03:00"),
    Case("15h moins 10", "fr", "2026-11-24 14:50"),
    Case("seize heures trente", "fr", "2026-11-24 16:30"),
    Case("a quarter past 3pm", "en", "2026-11-24 15:15"),
    Case("half past 3 pm", "en", "2026-11-24 15:30"),
    Case("quarter to 5pm", "en", "2026-11-24 16:45"),
    Case("midday", "en", "2026-11-24 12:00"),
    Case("in half an hour", "en", "2026-11-24 10:30"),
    Case("dans un quart d'heure", "fr", "2026-11-24 10:15"),
    Case("15 minutes from 1pm", "en", "2026-11-24 13:15"),
    Case("at 3 15 pm", "en", "2026-11-24 15:15"),
    Case("at 10 30", "en", "2026-11-24 10:30"),
    Case("at 3 15", "en", "!dates.which_hour"),
    Case("14h pile", "fr", "2026-11-24 14:00"),
    # week arithmetic
    Case("mardi suivant", "fr", "2026-12-01"),
    Case("mardi en quinze", "fr", "2026-12-15"),
    Case("wednesday of next week", "en", "2026-12-02"),
    Case("3 fridays from now", "en", "2026-12-11"),
    Case("a week from friday", "en", "2026-12-04"),
    Case("the week after next", "en", "2026-12-07"),
    Case("la semaine dernière", "fr", "2026-11-16", mode="done"),
    Case("last week", "en", "2026-11-16", mode="done"),
    Case("last week", "en", "!dates.past"),
    # hedges
    Case("vers 15h", "fr", "2026-11-24 15:00"),
    Case("environ 15h", "fr", "2026-11-24 15:00"),
    Case("à environ 15 heures", "fr", "2026-11-24 15:00"),
    Case("around 3pm", "en", "2026-11-24 15:00"),
    Case("about 3pm", "en", "2026-11-24 15:00"),
    Case("around the 15th", "en", "2026-12-15"),
    Case("vers l'aube", "fr", "!dates.unparseable"),
    # a weekday that contradicts the date
    Case("Thu 15th", "en", "!dates.weekday_mismatch"),
    Case("jeudi 15", "fr", "!dates.weekday_mismatch"),
    Case("Thursday the 17th", "en", "2026-12-17"),
    # two-digit years
    Case("31/10/74", "fr", "!dates.short_year"),
    Case("10/31/74", "en", "!dates.short_year"),
    Case("15/01/27", "fr", "2027-01-15"),
    # deadline words
    Case("avant le 15", "fr", "2026-12-15"),
    Case("jusqu'au 15 décembre", "fr", "2026-12-15"),
    Case("no later than Dec 15", "en", "2026-12-15"),
    # not dates
    Case("deux trois", "fr", "!dates.unparseable"),
    Case("A4 A5", "fr", "!dates.unparseable"),
    Case("two three", "en", "!dates.unparseable"),
    Case("sun", "en", "!dates.unparseable"),
    Case("5 min", "en", "!dates.unparseable"),
]


@pytest.mark.parametrize("case", FAMILIES, ids=[f"{c.lang}-{c.text}" for c in FAMILIES])
def test_family(case: Case) -> None:
    assert outcome(case) == case.expected


@pytest.mark.parametrize("case", TYPED, ids=[f"{c.lang}-{c.mode}-{c.text}" for c in TYPED])
def test_no_typed_phrasing_gets_a_wrong_date(case: Case) -> None:
    kind, got = verdict(case)
    assert kind != "wrong", (case.text, got, case.expected)


def test_the_typed_corpus_holds_300_phrasings_a_language_beyond_the_test_cases() -> None:
    tested = {(c.text.lower(), c.lang) for c in [*CORPUS, *FAMILIES]}
    for lang in ("fr", "en"):
        beyond = {c.text.lower() for c in TYPED if c.lang == lang} - {
            text for text, case_lang in tested if case_lang == lang
        }
        assert len(beyond) >= 300, (lang, len(beyond))


def test_a_refusal_says_what_was_read_and_what_was_not() -> None:
    with pytest.raises(DateError) as caught:
        parse_when("samedi vers l'aube", now=BASE)
    assert caught.value.key == "dates.partial"
    assert caught.value.params["read"] == "samedi"
    assert caught.value.params["unread"] == "vers l'aube"
    assert "je lis « samedi », mais pas « vers l'aube »" in render(caught.value, "fr")
    assert 'I read "samedi" but not "vers l\'aube"' in render(caught.value, "en")


def test_a_milestone_title_does_not_keep_the_deadline_words() -> None:
    for text, lang, title, day in [
        ("Rendre le rapport avant le 15", "fr", "Rendre le rapport", 15),
        ("Rendre le rapport jusqu'au 15 décembre", "fr", "Rendre le rapport", 15),
        ("Send the report no later than Dec 15", "en", "Send the report", 15),
        ("Bilan vers 15h demain", "fr", "Bilan", 25),
    ]:
        when, rest = find_when(text, now=BASE, lang=lang)
        assert (rest, when.start.day) == (title, day), text


def test_a_part_of_the_day_alone_is_no_date_in_a_title() -> None:
    with pytest.raises(DateError, match=r"dates\.missing"):
        find_when("Réunion du matin", now=BASE)
    when, rest = find_when("Atelier du soir vendredi", now=BASE)
    assert (when.date(), rest) == (date(2026, 11, 27), "Atelier du soir")


def test_the_hour_in_a_part_of_the_day() -> None:
    for text, hour in [
        ("ce soir à 5h", 17),
        ("ce soir à 11h", 23),
        ("cet après-midi à 12h", 12),
        ("cet après-midi à 7h", 19),
        ("demain matin à 11h", 11),
        ("tonight at 6", 18),
    ]:
        assert parse_when(text, now=BASE, lang="en").start.hour == hour, text
    for text in ("ce soir à 4h", "cet après-midi à 8h", "ce matin à 12h", "tonight at 1"):
        with pytest.raises(DateError, match=r"dates\.clash"):
            parse_when(text, now=BASE)


# ---- the general parser's answers are checked against the text


def _tokens(text: str) -> list[_Tok]:
    return _Text(text).toks


@pytest.mark.parametrize(
    ("text", "found", "has_time", "kept"),
    [
        ("le 15 janvier 2027 à 14:30:00", datetime(2027, 1, 15, 14, 30), True, True),
        ("in a fortnight", datetime(2026, 12, 8), False, True),
        # a time said and dropped
        ("this morning at 8", datetime(2026, 11, 24), False, False),
        ("at 10 30", datetime(2027, 10, 30), False, False),
        # a time added that was not said
        ("15 décembre", datetime(2026, 12, 15, 14, 0), True, False),
        # a weekday or a month contradicted
        ("jeudi 15 décembre", datetime(2026, 12, 15), False, False),
        ("15 mars", datetime(2027, 4, 15), False, False),
        # a number that is in no part of the answer
        ("jeudi 3", datetime(2026, 12, 10), False, False),
        # the part of the day or am/pm contradicted
        ("ce soir 8h", datetime(2026, 11, 24, 8, 0), True, False),
        ("3pm", datetime(2026, 11, 24, 3, 0), True, False),
        ("9am", datetime(2026, 11, 24, 21, 0), True, False),
    ],
)
def test_an_answer_that_drops_or_contradicts_a_part_is_not_kept(
    text: str, found: datetime, has_time: bool, kept: bool
) -> None:
    assert _agrees(_tokens(text), found, has_time) is kept


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("in a fortnight", True),
        ("2026-12-15T14:00:00", True),
        ("deux trois", False),
        ("one two", False),
        ("A4 A5", False),
        ("T1 2027", False),
        ("semaine 50", False),
        ("5 min", False),
        ("thursday 2-4", False),
        ("lundi ou mardi", False),
        ("every morning", False),
        ("15%", False),
        ("vers l'aube", False),
    ],
)
def test_the_general_parser_is_asked_only_about_date_words(text: str, asked: bool) -> None:
    assert _may_be_a_date(_tokens(text)) is asked


def test_wrong_answers_of_the_general_parser_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # dateparser reads "15 vendredi" as Sunday 15 November: the Friday is lost
    caplog.set_level(logging.DEBUG, logger="commands.dates")
    with pytest.raises(DateError) as caught:
        parse_when("15 vendredi", now=BASE)
    assert (caught.value.key, caught.value.params["unread"]) == ("dates.partial", "15")
    assert "'15 vendredi': the fallback's 2026-11-15" in caplog.text
    assert "drops or contradicts a part" in caplog.text
