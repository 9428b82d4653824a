"""Expressions people type, with what they mean at a fixed time: the tests and the benchmark share them.

Each ``Case`` reads at ``now`` (Tuesday 24 November 2026, 10:00 in Paris unless said
otherwise). ``expected`` is written by hand from the calendar, in local time:

- ``"2026-11-25"`` a date alone;
- ``"2026-11-25 14:00"`` a date and a time; ``"2026-11-25 14:00-16:00"`` a range;
- ``"RRULE:FREQ=WEEKLY;BYDAY=MO @ 2026-11-30"`` a recurrence and its first occurrence;
- ``"!dates.past"`` an error, by its message key.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from commands.dates import DateError, Mode, When, find_when, parse_when

PARIS = ZoneInfo("Europe/Paris")
BASE = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)  # a Tuesday
FRIDAY = datetime(2026, 11, 27, 17, 0, tzinfo=PARIS)
SUNDAY = datetime(2026, 11, 29, 18, 0, tzinfo=PARIS)
END_OF_MONTH = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)  # a Monday
END_OF_JANUARY = datetime(2027, 1, 31, 12, 0, tzinfo=PARIS)  # a Sunday, before a short month
END_OF_YEAR = datetime(2026, 12, 31, 15, 0, tzinfo=PARIS)  # a Thursday
BEFORE_DST = datetime(2027, 3, 27, 10, 0, tzinfo=PARIS)  # the clocks go forward tomorrow at 2:00


class Case(NamedTuple):
    text: str
    lang: str
    expected: str
    now: datetime = BASE
    mode: Mode = "deadline"


class FindCase(NamedTuple):
    text: str
    lang: str
    expected: str
    rest: str = ""
    prefer: str = "end"


def describe(when: When) -> str:
    """The corpus notation for a result."""
    if when.has_time:
        text = when.start.strftime("%Y-%m-%d %H:%M")
    else:
        text = when.start.strftime("%Y-%m-%d")
    if when.end is not None:
        text += when.end.strftime("-%H:%M")
    if when.rrule is not None:
        text = f"RRULE:{when.rrule} @ {text}"
    return text


def outcome(case: Case) -> str:
    """What Coordo's parser makes of a case, in the corpus notation."""
    try:
        when = parse_when(case.text, now=case.now, lang=case.lang, mode=case.mode)
    except DateError as error:
        return f"!{error.key}"
    return describe(when)


def find_outcome(case: FindCase) -> tuple[str, str]:
    try:
        when, rest = find_when(
            case.text,
            now=BASE,
            lang=case.lang,
            prefer=case.prefer,  # type: ignore[arg-type]
        )
    except DateError as error:
        return f"!{error.key}", ""
    return describe(when), rest


def _cases(lang: str, rows: str, now: datetime = BASE, mode: Mode = "deadline") -> list[Case]:
    """Rows ``text | expected``, one a line; blank lines and ``#`` comments are skipped."""
    out = []
    for line in rows.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        text, _, expected = line.rpartition("|")
        out.append(Case(text.strip(), lang, expected.strip(), now, mode))
    return out


CORPUS: list[Case] = [
    # ---- French, at Tuesday 24 November 2026, 10:00
    *_cases(
        "fr",
        """
        # relative days
        demain | 2026-11-25
        Demain | 2026-11-25
        DEMAIN | 2026-11-25
        après-demain | 2026-11-26
        apres-demain | 2026-11-26
        après demain | 2026-11-26
        aujourd'hui | 2026-11-24
        aujourd’hui | 2026-11-24
        dans 3 jours | 2026-11-27
        dans trois jours | 2026-11-27
        dans 2 semaines | 2026-12-08
        dans une semaine | 2026-12-01
        dans 15 jours | 2026-12-09
        dans 1 mois | 2026-12-24
        dans un an | 2027-11-24
        d'ici 10 jours | 2026-12-04
        dans 2 heures | 2026-11-24 12:00
        dans 30 minutes | 2026-11-24 10:30
        dans 1h30 | 2026-11-24 11:30
        hier | !dates.past
        il y a 3 jours | !dates.past
        # weekdays
        lundi | 2026-11-30
        mardi | 2026-12-01
        mercredi | 2026-11-25
        jeudi | 2026-11-26
        vendredi | 2026-11-27
        Vendredi | 2026-11-27
        dimanche | 2026-11-29
        le vendredi | 2026-11-27
        vendredi prochain | 2026-12-04
        lundi prochain | 2026-11-30
        mardi prochain | 2026-12-01
        mercredi prochain | 2026-12-02
        dimanche prochain | 2026-12-06
        ce vendredi | 2026-11-27
        ce mardi | 2026-11-24
        ce lundi | !dates.past
        vendredi qui vient | 2026-11-27
        vendredi en huit | 2026-12-04
        mardi en huit | 2026-12-08
        mardi de la semaine prochaine | 2026-12-01
        jeudi semaine prochaine | 2026-12-03
        d'ici vendredi | 2026-11-27
        pour vendredi | 2026-11-27
        vendredi au plus tard | 2026-11-27
        # weekdays with a time
        vendredi 14h | 2026-11-27 14:00
        vendredi prochain à 10h | 2026-12-04 10:00
        lundi matin | 2026-11-30 09:00
        jeudi après-midi | 2026-11-26 14:00
        mercredi soir | 2026-11-25 18:00
        # times
        14h | 2026-11-24 14:00
        14h30 | 2026-11-24 14:30
        14 h | 2026-11-24 14:00
        à 9h | 2026-11-25 09:00
        a 9h | 2026-11-25 09:00
        9h45 | 2026-11-25 09:45
        10h | 2026-11-24 10:00
        midi | 2026-11-24 12:00
        à midi | 2026-11-24 12:00
        midi et demi | 2026-11-24 12:30
        14:00 | 2026-11-24 14:00
        16 heures | 2026-11-24 16:00
        8h du soir | 2026-11-24 20:00
        3h de l'après-midi | 2026-11-24 15:00
        vers 15h | 2026-11-24 15:00
        23h59 | 2026-11-24 23:59
        # time ranges
        14h-16h | 2026-11-24 14:00-16:00
        14h - 16h | 2026-11-24 14:00-16:00
        14h–16h | 2026-11-24 14:00-16:00
        de 14h à 16h | 2026-11-24 14:00-16:00
        14h à 16h | 2026-11-24 14:00-16:00
        14-16h | 2026-11-24 14:00-16:00
        14h30-16h | 2026-11-24 14:30-16:00
        de 9h à 12h30 | 2026-11-25 09:00-12:30
        entre 14h et 15h | 2026-11-24 14:00-15:00
        10:00-11:30 | 2026-11-24 10:00-11:30
        16h-14h | !dates.bad_range
        # numeric dates, day first
        12/01 | 2027-01-12
        15/01 | 2027-01-15
        15/01/2027 | 2027-01-15
        15/01/27 | 2027-01-15
        01/12 | 2026-12-01
        24/11 | 2026-11-24
        23/11 | 2027-11-23
        31/12 | 2026-12-31
        15.01.2027 | 2027-01-15
        15-01-2027 | 2027-01-15
        2027-01-15 | 2027-01-15
        le 15/01 | 2027-01-15
        12/01 14h | 2027-01-12 14:00
        15/01 à 9h30 | 2027-01-15 09:30
        mardi 01/12 | 2026-12-01
        29/02/2028 | 2028-02-29
        # written dates
        le 1er mars | 2027-03-01
        1er mars | 2027-03-01
        le premier mars | 2027-03-01
        15 janvier | 2027-01-15
        le 15 janvier | 2027-01-15
        15 janvier 2027 | 2027-01-15
        le 3 décembre | 2026-12-03
        3 déc. | 2026-12-03
        3 dec | 2026-12-03
        le 24 novembre | 2026-11-24
        le 23 novembre | 2027-11-23
        mardi 8 décembre | 2026-12-08
        le mardi 8 décembre | 2026-12-08
        mardi 8 décembre 2026 | 2026-12-08
        mar. 8 déc. | 2026-12-08
        jeudi 3 décembre à 15h | 2026-12-03 15:00
        le 1er mars à 9h30 | 2027-03-01 09:30
        mardi 8 décembre 14h-16h | 2026-12-08 14:00-16:00
        le 3 décembre de 9h30 à 11h | 2026-12-03 09:30-11:00
        le 15 | 2026-12-15
        le 24 | 2026-11-24
        le 31 | 2026-12-31
        mardi 8 | 2026-12-08
        le premier mardi de décembre | 2026-12-01
        le dernier vendredi de janvier | 2027-01-29
        # month edges and periods
        fin du mois | 2026-11-30
        fin de mois | 2026-11-30
        d'ici la fin du mois | 2026-11-30
        fin du mois prochain | 2026-12-31
        début du mois prochain | 2026-12-01
        début du mois | 2026-12-01
        début janvier | 2027-01-01
        début de janvier | 2027-01-01
        fin mars | 2027-03-31
        fin février | 2027-02-28
        mi-mars | 2027-03-15
        fin novembre | 2026-11-30
        début novembre | 2027-11-01
        fin janvier 2027 | 2027-01-31
        fin d'année | 2026-12-31
        fin de l'année | 2026-12-31
        fin de la semaine | 2026-11-27
        fin de la semaine prochaine | 2026-12-04
        fin du mois à 18h | 2026-11-30 18:00
        la semaine prochaine | 2026-11-30
        semaine prochaine | 2026-11-30
        le mois prochain | 2026-12-01
        l'année prochaine | 2027-01-01
        # parts of the day and combinations
        ce soir | 2026-11-24 18:00
        cet après-midi | 2026-11-24 14:00
        ce matin | !dates.past
        demain matin | 2026-11-25 09:00
        demain après-midi | 2026-11-25 14:00
        demain soir | 2026-11-25 18:00
        demain midi | 2026-11-25 12:00
        demain matin à 10h | 2026-11-25 10:00
        ce soir à 20h | 2026-11-24 20:00
        demain 14h | 2026-11-25 14:00
        demain à 14h | 2026-11-25 14:00
        demain, 14h | 2026-11-25 14:00
        14h demain | 2026-11-25 14:00
        à 14h demain | 2026-11-25 14:00
        demain 9h30 | 2026-11-25 09:30
        après-demain 8h | 2026-11-26 08:00
        demain de 14h à 16h | 2026-11-25 14:00-16:00
        aujourd'hui 16h | 2026-11-24 16:00
        aujourd'hui 9h | !dates.past
        # recurrences
        tous les lundis | RRULE:FREQ=WEEKLY;BYDAY=MO @ 2026-11-30
        tous les lundis à 9h | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00
        tous les mardis à 9h | RRULE:FREQ=WEEKLY;BYDAY=TU;BYHOUR=9;BYMINUTE=0 @ 2026-12-01 09:00
        tous les mardis à 14h | RRULE:FREQ=WEEKLY;BYDAY=TU;BYHOUR=14;BYMINUTE=0 @ 2026-11-24 14:00
        chaque lundi à 9h | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00
        chaque vendredi à 16h30 | RRULE:FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=30 @ 2026-11-27 16:30
        tous les lundis et jeudis à 9h | RRULE:FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0 @ 2026-11-26 09:00
        tous les lundis de 9h à 10h | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00-10:00
        le premier mardi du mois à 14h | RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=14;BYMINUTE=0 @ 2026-12-01 14:00
        tous les premiers mardis du mois à 10h | RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=10;BYMINUTE=0 @ 2026-12-01 10:00
        le troisième jeudi du mois à 18h | RRULE:FREQ=MONTHLY;BYDAY=3TH;BYHOUR=18;BYMINUTE=0 @ 2026-12-17 18:00
        le 2e mercredi du mois | RRULE:FREQ=MONTHLY;BYDAY=2WE @ 2026-12-09
        le dernier vendredi du mois | RRULE:FREQ=MONTHLY;BYDAY=-1FR @ 2026-11-27
        tous les derniers jeudis du mois | RRULE:FREQ=MONTHLY;BYDAY=-1TH @ 2026-11-26
        le 15 de chaque mois | RRULE:FREQ=MONTHLY;BYMONTHDAY=15 @ 2026-12-15
        tous les 1er du mois à 9h | RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0 @ 2026-12-01 09:00
        tous les jours à 8h30 | RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=30 @ 2026-11-25 08:30
        tous les jours ouvrés à 9h | RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0 @ 2026-11-25 09:00
        toutes les deux semaines le mardi | RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU @ 2026-11-24
        toutes les 2 semaines le mardi à 14h | RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=14;BYMINUTE=0 @ 2026-11-24 14:00
        un jeudi sur deux à 10h | RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0 @ 2026-11-26 10:00
        chaque semaine le lundi à 9h | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00
        # errors
        lundi 8 décembre | !dates.weekday_mismatch
        lundi 01/12 | !dates.weekday_mismatch
        31/02 | !dates.impossible
        31/04 | !dates.impossible
        32/01 | !dates.impossible
        15/13 | !dates.impossible
        01/15 | !dates.impossible
        29/02/2027 | !dates.impossible
        29/02 | !dates.impossible
        31 novembre | !dates.impossible
        30 février | !dates.impossible
        le 32 | !dates.impossible
        25h | !dates.impossible
        14h75 | !dates.impossible
        demain minuit | !dates.ambiguous
        mars | !dates.imprecise
        en mars | !dates.imprecise
        mars 2027 | !dates.imprecise
        cette semaine | !dates.imprecise
        banana | !dates.unparseable
        bientôt | !dates.unparseable
        n'importe quand | !dates.unparseable
        ? | !dates.unparseable
        """,
    ),
    # ---- English, at Tuesday 24 November 2026, 10:00
    *_cases(
        "en",
        """
        tomorrow | 2026-11-25
        today | 2026-11-24
        the day after tomorrow | 2026-11-26
        in 3 days | 2026-11-27
        in two weeks | 2026-12-08
        in a week | 2026-12-01
        in a month | 2026-12-24
        2 weeks from now | 2026-12-08
        in 2 hours | 2026-11-24 12:00
        in 45 minutes | 2026-11-24 10:45
        yesterday | !dates.past
        friday | 2026-11-27
        Friday | 2026-11-27
        on friday | 2026-11-27
        monday | 2026-11-30
        next friday | 2026-12-04
        next monday | 2026-11-30
        next wednesday | 2026-12-02
        this friday | 2026-11-27
        this monday | !dates.past
        this coming friday | 2026-11-27
        tuesday next week | 2026-12-01
        by friday | 2026-11-27
        friday at 3pm | 2026-11-27 15:00
        next monday at 9:30am | 2026-11-30 09:30
        monday morning | 2026-11-30 09:00
        9am | 2026-11-25 09:00
        2pm | 2026-11-24 14:00
        2 pm | 2026-11-24 14:00
        at 2pm | 2026-11-24 14:00
        11:30am | 2026-11-24 11:30
        3:45 pm | 2026-11-24 15:45
        12pm | 2026-11-24 12:00
        noon | 2026-11-24 12:00
        14:00 | 2026-11-24 14:00
        13pm | !dates.impossible
        2-4pm | 2026-11-24 14:00-16:00
        from 2pm to 4pm | 2026-11-24 14:00-16:00
        10am-12pm | 2026-11-24 10:00-12:00
        9:30-11:00 | 2026-11-25 09:30-11:00
        between 2pm and 3pm | 2026-11-24 14:00-15:00
        Dec 15 | 2026-12-15
        Dec 15 at 2pm | 2026-12-15 14:00
        December 15th | 2026-12-15
        15 December | 2026-12-15
        the 15th of December | 2026-12-15
        on Dec 3 | 2026-12-03
        March 1st | 2027-03-01
        January 15, 2027 | 2027-01-15
        Tuesday, December 8 | 2026-12-08
        Tue Dec 8 | 2026-12-08
        Jan 12 at 9:30am | 2027-01-12 09:30
        Dec 8 2-4pm | 2026-12-08 14:00-16:00
        the 15th | 2026-12-15
        15/01 | 2027-01-15
        01/15 | 2027-01-15
        1/15/2027 | 2027-01-15
        12/12 | 2026-12-12
        2027-01-15 | 2027-01-15
        03/04 | !dates.ambiguous
        12/01 | !dates.ambiguous
        the first tuesday of next month | 2026-12-01
        end of the month | 2026-11-30
        end of month | 2026-11-30
        end of next month | 2026-12-31
        beginning of next month | 2026-12-01
        early January | 2027-01-01
        end of March | 2027-03-31
        mid-March | 2027-03-15
        end of the year | 2026-12-31
        by the end of the month | 2026-11-30
        end of the week | 2026-11-27
        next week | 2026-11-30
        next month | 2026-12-01
        next year | 2027-01-01
        tonight | 2026-11-24 20:00
        this afternoon | 2026-11-24 14:00
        tomorrow morning | 2026-11-25 09:00
        tomorrow evening | 2026-11-25 18:00
        tomorrow at 2pm | 2026-11-25 14:00
        at 2pm tomorrow | 2026-11-25 14:00
        tomorrow at noon | 2026-11-25 12:00
        2pm on friday | 2026-11-27 14:00
        tomorrow 10:00-11:30 | 2026-11-25 10:00-11:30
        today at 9am | !dates.past
        every first Tuesday at 14:00 | RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=14;BYMINUTE=0 @ 2026-12-01 14:00
        every monday at 9am | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00
        every friday | RRULE:FREQ=WEEKLY;BYDAY=FR @ 2026-11-27
        every day at 9am | RRULE:FREQ=DAILY;BYHOUR=9;BYMINUTE=0 @ 2026-11-25 09:00
        every weekday at 8:30am | RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30 @ 2026-11-25 08:30
        every other tuesday at 2pm | RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=14;BYMINUTE=0 @ 2026-11-24 14:00
        every tuesday and thursday at 10am | RRULE:FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=10;BYMINUTE=0 @ 2026-11-24 10:00
        the last friday of the month | RRULE:FREQ=MONTHLY;BYDAY=-1FR @ 2026-11-27
        the first monday of every month at 9am | RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0 @ 2026-12-07 09:00
        every 15th of the month | RRULE:FREQ=MONTHLY;BYMONTHDAY=15 @ 2026-12-15
        mondays at 9am | RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0 @ 2026-11-30 09:00
        weekly on monday | RRULE:FREQ=WEEKLY;BYDAY=MO @ 2026-11-30
        monthly on the 15th | RRULE:FREQ=MONTHLY;BYMONTHDAY=15 @ 2026-12-15
        Monday, December 8 | !dates.weekday_mismatch
        February 30 | !dates.impossible
        in March | !dates.imprecise
        march 2027 | !dates.imprecise
        whenever | !dates.unparseable
        """,
    ),
    # ---- forms the grammar leaves to the general parser
    Case("in a fortnight", "en", "2026-12-08"),
    Case("2026-12-15T14:00:00", "fr", "2026-12-15 14:00"),
    Case("le 15 janvier 2027 à 14:30:00", "fr", "2027-01-15 14:30"),
    # ---- French typed by someone whose language is English, and the other way round
    Case("demain 14h", "en", "2026-11-25 14:00"),
    Case("vendredi prochain", "en", "2026-12-04"),
    Case("next friday", "fr", "2026-12-04"),
    Case("Dec 15 at 2pm", "fr", "2026-12-15 14:00"),
    # ---- the date of something done (an expense): past fine, future refused
    *_cases(
        "fr",
        """
        hier | 2026-11-23
        avant-hier | 2026-11-22
        il y a 3 jours | 2026-11-21
        il y a une semaine | 2026-11-17
        aujourd'hui | 2026-11-24
        vendredi | 2026-11-20
        vendredi dernier | 2026-11-20
        lundi dernier | 2026-11-23
        ce lundi | 2026-11-23
        12/01 | 2026-01-12
        23/11 | 2026-11-23
        le 15 | 2026-11-15
        3 octobre | 2026-10-03
        demain | !dates.future
        vendredi prochain | !dates.future
        """,
        mode="done",
    ),
    *_cases(
        "en",
        """
        yesterday | 2026-11-23
        3 days ago | 2026-11-21
        last friday | 2026-11-20
        friday | 2026-11-20
        tomorrow | !dates.future
        """,
        mode="done",
    ),
    Case("hier", "fr", "2026-11-23", mode="any"),
    # ---- on a Friday, 17:00
    *_cases(
        "fr",
        """
        vendredi | 2026-12-04
        vendredi prochain | 2026-12-04
        ce vendredi | 2026-11-27
        samedi | 2026-11-28
        samedi prochain | 2026-12-05
        lundi prochain | 2026-11-30
        fin de la semaine | 2026-11-27
        ce soir | 2026-11-27 18:00
        14h | 2026-11-28 14:00
        """,
        now=FRIDAY,
    ),
    # ---- on a Sunday, 18:00
    *_cases(
        "fr",
        """
        lundi | 2026-11-30
        lundi prochain | 2026-11-30
        ce lundi | !dates.past
        ce dimanche | 2026-11-29
        dimanche | 2026-12-06
        dimanche prochain | 2026-12-06
        vendredi prochain | 2026-12-04
        la semaine prochaine | 2026-11-30
        fin de la semaine | 2026-12-04
        demain | 2026-11-30
        14h | 2026-11-30 14:00
        fin du mois | 2026-11-30
        """,
        now=SUNDAY,
    ),
    Case("next friday", "en", "2026-12-04", now=SUNDAY),
    Case("this monday", "en", "!dates.past", now=SUNDAY),
    # ---- on the last day of a month
    *_cases(
        "fr",
        """
        fin du mois | 2026-11-30
        début du mois | 2026-12-01
        le 31 | 2026-12-31
        le 30 | 2026-11-30
        le 1er | 2026-12-01
        fin du mois prochain | 2026-12-31
        dans 1 mois | 2026-12-30
        """,
        now=END_OF_MONTH,
    ),
    *_cases(
        "fr",
        """
        dans 1 mois | 2027-02-28
        fin du mois prochain | 2027-02-28
        le 30 | 2027-03-30
        le 29 | 2027-03-29
        """,
        now=END_OF_JANUARY,
    ),
    # ---- on the last day of the year
    *_cases(
        "fr",
        """
        demain | 2027-01-01
        15 janvier | 2027-01-15
        12/01 | 2027-01-12
        31/12 | 2026-12-31
        30/12 | 2027-12-30
        fin de l'année | 2026-12-31
        l'année prochaine | 2027-01-01
        la semaine prochaine | 2027-01-04
        vendredi | 2027-01-01
        début janvier | 2027-01-01
        le 1er | 2027-01-01
        tous les premiers lundis du mois à 9h | RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0 @ 2027-01-04 09:00
        """,
        now=END_OF_YEAR,
    ),
    Case("hier", "fr", "2026-12-30", now=END_OF_YEAR, mode="done"),
    Case("12/12", "fr", "2026-12-12", now=END_OF_YEAR, mode="done"),
    # ---- the day before the clocks go forward (2:00 becomes 3:00)
    Case("demain 14h", "fr", "2027-03-28 14:00", now=BEFORE_DST),
    Case("demain 2h30", "fr", "2027-03-28 03:30", now=BEFORE_DST),
    Case("dans 2 jours", "fr", "2027-03-29", now=BEFORE_DST),
]


FIND_CORPUS: list[FindCase] = [
    FindCase(
        "Lancer l'appel à projets vendredi prochain", "fr", "2026-12-04", "Lancer l'appel à projets"
    ),
    FindCase(
        "Envoyer le bilan intermédiaire pour:15/01",
        "fr",
        "2027-01-15",
        "Envoyer le bilan intermédiaire",
    ),
    FindCase(
        "Publish the call for projects next friday",
        "en",
        "2026-12-04",
        "Publish the call for projects",
    ),
    FindCase("mardi 8 décembre 14h-16h", "fr", "2026-12-08 14:00-16:00", ""),
    FindCase("Réunion de lancement demain 14h", "fr", "2026-11-25 14:00", "Réunion de lancement"),
    FindCase("Point budget le 15 janvier à 10h", "fr", "2027-01-15 10:00", "Point budget"),
    FindCase("Rendre le rapport d'ici la fin du mois", "fr", "2026-11-30", "Rendre le rapport"),
    FindCase(
        "Préparer le COPIL du 3 mars pour vendredi",
        "fr",
        "2026-11-27",
        "Préparer le COPIL du 3 mars",
    ),
    FindCase(
        "Atelier citoyen, jeudi 3 décembre à 18h30.", "fr", "2026-12-03 18:30", "Atelier citoyen"
    ),
    FindCase("Rédiger le 2e rapport vendredi", "fr", "2026-11-27", "Rédiger le 2e rapport"),
    FindCase("Atelier 5 personnes samedi", "fr", "2026-11-28", "Atelier 5 personnes"),
    FindCase(
        "Comité de suivi tous les premiers mardis du mois à 10h",
        "fr",
        "RRULE:FREQ=MONTHLY;BYDAY=1TU;BYHOUR=10;BYMINUTE=0 @ 2026-12-01 10:00",
        "Comité de suivi",
    ),
    FindCase("Send the report by Dec 15", "en", "2026-12-15", "Send the report"),
    FindCase("Kick-off meeting tomorrow at 2pm", "en", "2026-11-25 14:00", "Kick-off meeting"),
    FindCase(
        "demain 14h Point sur le budget", "fr", "2026-11-25 14:00", "Point sur le budget", "start"
    ),
    FindCase(
        "mardi 8 décembre 14h-16h Salle du conseil",
        "fr",
        "2026-12-08 14:00-16:00",
        "Salle du conseil",
        "start",
    ),
    FindCase("Envoyer le bilan", "fr", "!dates.missing"),
    FindCase("Publish the call", "en", "!dates.missing"),
    FindCase("Bilan 31/02", "fr", "!dates.impossible"),
    FindCase("Relancer les partenaires lundi 8 décembre", "fr", "!dates.weekday_mismatch"),
    FindCase("Réunion demain ou vendredi, ordre du jour", "fr", "!dates.ambiguous"),
    FindCase("Bilan de l'atelier hier", "fr", "!dates.past"),
]
