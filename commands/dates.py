"""The dates and times people type, in French and English.

``parse_when`` reads a text that is all date ("vendredi prochain", "15/01 14h", "tous les
lundis à 9h"); ``find_when`` finds the date inside a free text ("Lancer l'appel à projets
vendredi prochain") and hands back the rest, which is how ``/jalon`` and ``/copil`` split
their arguments.

Coordo's own grammar reads the forms people type in a lab's chat, because a general
parser gets several of them wrong or not at all ("demain 14h" at midnight, "vendredi
prochain", "fin du mois", recurrences). Whatever the grammar does not know, in
``parse_when`` only, goes to dateparser, and only when it is made of date words; its
answer is kept only when it keeps every part of the text (``_agrees``: each weekday,
month and number, the time and its part of the day), else the text is refused with what
the grammar could read of it (``dates.partial``).
``find_when`` uses the grammar alone: a general parser finds dates in ordinary words
("a", "sun", "now") and would eat titles.

Conventions (the user guide repeats them; every reply echoes the date in words, so the
other reading is caught at once):

- A bare weekday ("vendredi", "friday") is the next one strictly after today.
- "vendredi prochain" / "next friday" is the same day, except when that day falls in the
  current Monday-to-Sunday week, where it means the one of next week. "ce vendredi" /
  "this friday" is this week's, even if already past. "vendredi en huit" is a week after
  the bare one; "vendredi de la semaine prochaine" is next week's.
- A date with no year ("15 janvier", "12/01", "le 15") is the next one on or after today.
  French numeric dates are day first; in English, "03/04" asks back unless one reading is
  impossible ("15/01" is 15 January, "01/15" is 15 January too).
- "fin du mois" is the month's last day, "début du mois" the next 1st, "mi-mars" the
  15th; "fin de la semaine" is Friday. "la semaine prochaine" / "next week" is next
  Monday, "le mois prochain" the 1st of next month.
- A time alone ("14h") is the next such time: today if still ahead, else tomorrow.
  "matin" is 9:00, "midi" 12:00, "après-midi" 14:00, "soir" 18:00, alone or after a date.
- A part of the day moves the hour into it ("ce soir à 8h" is 20:00) and an hour outside
  it is refused ("ce soir à 2h"). A bare hour ("at 3", "2 heures") from 0 to 7 asks back
  (morning or afternoon?); "3h" with an "h" is the 24-hour clock.
- Hedges ("vers", "environ", "around") keep what they hedge. A weekday said with a date
  must be that date's. A two-digit year is read within ten years of now.
- "dans 15 jours" counts 15 days (not two weeks); "dans 2 heures" keeps the time.
- "pour", "d'ici", "avant", "by", "before" and "au plus tard" around a date change
  nothing: a deadline "avant vendredi" is due on Friday.
- A recurrence comes back as an RRULE (without DTSTART) and its first occurrence on or
  after now, in ``start``, whatever the mode; a caller that wants one date checks
  ``rrule``.
- With ``mode="done"`` (the date of something done, such as an expense) every reading
  looks backwards instead: "vendredi" is last Friday, "12/01" the last 12 January.

Impossible dates ("31/02", "25h"), a weekday that contradicts the date, a past date for a
deadline, a future one for something done, an imprecise one ("en mars") and an ambiguous
one raise ``DateError``; its key names a message of ``catalogs/dates.toml``.
"""

from __future__ import annotations

import calendar
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from commands.errors import UserError
from commands.messages import normalise_locale

logger = logging.getLogger(__name__)

Mode = Literal["deadline", "done", "any"]
Prefer = Literal["end", "start"]

__all__ = ["DateError", "Mode", "When", "find_when", "parse_when"]


class DateError(UserError):
    """The text holds no date Coordo can use; the key tells why (see ``catalogs/dates.toml``)."""


@dataclass(frozen=True)
class When:
    """What a date expression means.

    ``start`` is timezone-aware in the requested zone; at midnight when ``has_time`` is
    False. ``end`` is set for a range of times ("14h-16h"). ``rrule`` is set for a
    recurrence ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", no DTSTART) and ``start`` is
    then its first occurrence.
    """

    start: datetime
    has_time: bool
    end: datetime | None = None
    rrule: str | None = None

    def date(self) -> date:
        return self.start.date()


# --------------------------------------------------------------------------- text


_CHAR_MAP = {
    "’": "'",
    "‘": "'",
    "`": "'",
    "´": "'",
    "–": "-",
    "—": "-",
    "‑": "-",
    "−": "-",
    "œ": "oe",
    "Œ": "oe",
    "æ": "ae",
    "Æ": "ae",
    "ß": "ss",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    mapped = _CHAR_MAP.get(ch)
    if mapped is not None:
        return mapped
    decomposed = unicodedata.normalize("NFKD", ch.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower case, no accents; and for each character of the result, its index in ``text``."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = ch if ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == " ") else _fold_char(ch)
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), index


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: Literal["num", "word", "sym"]
    text: str
    start: int  # in the normalised text
    end: int
    glued: bool  # nothing between it and the token before


_TOKEN_RE = re.compile(r"[0-9]+|[a-z]+|\S")


def _tokenise(norm: str) -> list[_Tok]:
    raw: list[_Tok] = []
    prev_end = -1
    for m in _TOKEN_RE.finditer(norm):
        s = m.group()
        kind: Literal["num", "word", "sym"]
        if s[0].isdigit():
            kind = "num"
        elif "a" <= s[0] <= "z":
            kind = "word"
        else:
            kind = "sym"
        raw.append(_Tok(kind, s, m.start(), m.end(), m.start() == prev_end))
        prev_end = m.end()
    toks: list[_Tok] = []
    for k, tok in enumerate(raw):
        if tok.kind == "sym":
            before = raw[k - 1] if k else None
            after = raw[k + 1] if k + 1 < len(raw) else None
            if tok.text == "'":
                continue  # aujourd'hui, d'ici, l'après-midi
            if tok.text == "-" and before and after and before.kind == after.kind == "word":
                continue  # après-demain, mi-mars
            if tok.text == "." and before and before.kind == "word":
                continue  # déc., a.m., end of a sentence
        toks.append(tok)
    return toks


_TRAILING_PUNCT = frozenset(".!?;,:)]}»\"'")


class _Text:
    """A text, its folded form and its tokens, with the way back to the original characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm, self.index = _normalise(text)
        toks = _tokenise(self.norm)
        while toks and toks[-1].kind == "sym" and toks[-1].text in _TRAILING_PUNCT:
            toks.pop()
        while toks and toks[0].kind == "sym" and toks[0].text in "([{«\"'":
            toks.pop(0)
        self.toks = toks

    def span(self, i: int, j: int) -> tuple[int, int]:
        """Characters of the original text covered by tokens ``i`` to ``j`` (excluded)."""
        return self.index[self.toks[i].start], self.index[self.toks[j - 1].end - 1] + 1


# --------------------------------------------------------------------------- vocabulary

V = TypeVar("V")


class _Phrases(Generic[V]):
    """Phrases of one or more folded words (or symbols), each with a value; longest match wins."""

    def __init__(self, items: Mapping[str, V]) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], V]]] = {}
        for phrase, value in items.items():
            words = tuple(phrase.split())
            self.by_first.setdefault(words[0], []).append((words, value))
        for options in self.by_first.values():
            options.sort(key=lambda o: -len(o[0]))

    def match(self, toks: Sequence[_Tok], i: int) -> tuple[V, int] | None:
        if i >= len(toks):
            return None
        options = self.by_first.get(toks[i].text)
        if not options:
            return None
        for words, value in options:
            end = i + len(words)
            if end <= len(toks) and all(toks[i + k].text == w for k, w in enumerate(words)):
                return value, end
        return None

    def words(self) -> set[str]:
        return {w for options in self.by_first.values() for ws, _ in options for w in ws}


def _same(value: V, phrases: str) -> dict[str, V]:
    """A table entry per phrase of ``phrases`` (separated by "|"), all with ``value``."""
    return {phrase.strip(): value for phrase in phrases.split("|")}


def _words(text: str) -> list[str]:
    return text.split()


def _numbered(names: str, start: int) -> dict[str, int]:
    return {name: k for k, name in enumerate(names.split(), start)}


_WEEKDAY_NAMES = {
    **_numbered("lundi mardi mercredi jeudi vendredi samedi dimanche", 0),
    **_numbered("monday tuesday wednesday thursday friday saturday sunday", 0),
}
_WEEKDAY = _Phrases(_WEEKDAY_NAMES)
# Abbreviations are read only next to a day number ("mar. 8 déc.", "Tue, Dec 8").
_WEEKDAY_SHORT = _Phrases(
    {
        **_WEEKDAY_NAMES,
        **_numbered("lun mar mer jeu ven sam dim", 0),
        **_numbered("mon tue wed thu fri sat sun", 0),
        **_same(1, "tues"),
        **_same(3, "thur|thurs"),
    }
)
_WEEKDAY_PLURAL = _Phrases(
    {**{f"{name}s": wd for name, wd in _WEEKDAY_NAMES.items()}, **_WEEKDAY_NAMES}
)

_MONTH_NAMES = {
    **_numbered(
        "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre", 1
    ),
    **_numbered(
        "january february march april may june july august september october november december",
        1,
    ),
}
_MONTH = _Phrases(_MONTH_NAMES)
_MONTH_SHORT = _Phrases(
    {
        **_MONTH_NAMES,
        **_numbered("jan feb mar apr may jun jul aug sep oct nov dec", 1),
        **_same(1, "janv"),
        **_same(2, "fev|fevr"),
        **_same(4, "avr"),
        **_same(7, "juil|juill"),
        **_same(8, "aou"),
        **_same(9, "sept"),
    }
)

_COUNT_WORDS = _Phrases(
    {
        **_numbered("un deux trois quatre cinq six sept huit neuf dix onze douze", 1),
        **_numbered("one two three four five six seven eight nine ten eleven twelve", 1),
        **_same(1, "une|a|an"),
        **_same(2, "a couple of"),
        **_same(15, "quinze|fifteen"),
        **_same(20, "vingt|twenty"),
        **_same(30, "trente|thirty"),
    }
)
_UNIT = _Phrases(
    {
        **_same("days", "jour|jours|j|day|days"),
        **_same("weeks", "semaine|semaines|sem|week|weeks"),
        **_same("months", "mois|month|months"),
        **_same("years", "an|ans|annee|annees|year|years"),
        **_same("hours", "heure|heures|h|hour|hours|hr|hrs"),
        **_same("fortnights", "fortnight|fortnights"),
        **_same("minutes", "minute|minutes|min|mins|mn"),
    }
)
_REL_DAY = _Phrases(
    {
        **_same(0, "aujourd hui|aujourdhui|ajd|auj|today"),
        **_same(1, "demain|a demain|tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow"),
        **_same(2, "apres demain|apresdemain|day after tomorrow|the day after tomorrow"),
        **_same(-1, "hier|yesterday"),
        **_same(-2, "avant hier|avanthier|day before yesterday|the day before yesterday"),
    }
)
_MINUTE_AMOUNT = _Phrases(
    {
        **_same(30, "une demi heure|une demie heure|half an hour|a half hour|half a hour"),
        **_same(15, "un quart d heure|a quarter of an hour|a quarter hour|quarter of an hour"),
        **_same(
            90,
            "une heure et demie|une heure et demi|une heure trente|an hour and a half"
            "|one hour and a half|one and a half hours|1h et demie|1 heure et demie",
        ),
        **_same(45, "trois quarts d heure|three quarters of an hour"),
    }
)
_REL_LEAD = _Phrases({**_same(1, "dans|in|d ici|sous|within"), "il y a": -1})
_REL_TAIL = _Phrases({**_same(1, "from now|from today|plus tard|later"), "ago": -1})

_PART_OF_DAY = _Phrases(
    {
        **_same(9, "matin|au matin|le matin|dans la matinee|en matinee|morning|in the morning"),
        **_same(
            14,
            "apres midi|l apres midi|dans l apres midi|aprem|l aprem|afternoon|in the afternoon",
        ),
        **_same(
            18,
            "soir|au soir|le soir|en fin de journee|fin de journee|en soiree|evening|in the evening",
        ),
        **_same(20, "night|at night"),
    }
)
_LAST_NIGHT = _Phrases({"last night": 20})
_TODAY_PART = _Phrases(
    {
        **_same(9, "ce matin|this morning"),
        **_same(14, "cet apres midi|cet aprem|this afternoon"),
        "ce midi": 12,
        **_same(18, "ce soir|this evening"),
        "tonight": 20,
    }
)

_WD_PREFIX = _Phrases(
    {
        **_same("bare", "le|on|the|this coming|coming"),
        **_same("next", "the next|the following|following"),
        **_same("this", "ce|this"),
        "next": "next",
        "last": "last",
        **_same("next_week", "la semaine prochaine|semaine prochaine|next week|next week on"),
    }
)
_WD_SUFFIX = _Phrases(
    {
        **_same("next", "suivant|suivante"),
        **_same("in_8", "after next|week"),
        **_same("next_week", "of next week"),
        **_same("this", "of this week"),
        **_same("next", "prochain|prochaine"),
        "qui vient": "bare",
        **_same("in_8", "en huit|en 8"),
        **_same("in_15", "en quinze|en 15"),
        **_same("last", "dernier|passe"),
        **_same(
            "next_week",
            "de la semaine prochaine|la semaine prochaine|semaine prochaine|next week",
        ),
        **_same("this", "de cette semaine|cette semaine|this week"),
        **_same(
            "last_week",
            "de la semaine derniere|la semaine derniere|semaine derniere|last week",
        ),
    }
)

_DAY_SUFFIXES = frozenset(["er", "st", "nd", "rd", "th"])
_ORDINAL_SUFFIXES = frozenset(["er", "re", "ere", "e", "eme", "ers", "es", "st", "nd", "rd", "th"])
_ORDINAL_WORDS = _Phrases(
    {
        **_same(1, "premier|premiere|premiers|premieres|first"),
        **_same(2, "deuxieme|deuxiemes|second|seconde|seconds|secondes"),
        **_same(3, "troisieme|troisiemes|third"),
        **_same(4, "quatrieme|quatriemes|fourth"),
        **_same(5, "cinquieme|cinquiemes|fifth"),
        **_same(-1, "dernier|derniere|derniers|dernieres|last"),
        **_same(-2, "avant dernier|avant derniere|second to last"),
    }
)

_EDGE = _Phrases(
    {
        **_same("end", "fin|end|late"),
        **_same("start", "debut|beginning|start|early"),
        **_same("mid", "mi|milieu|middle|mid"),
    }
)
_EDGE_CONNECTOR = frozenset(["de", "du", "d", "of", "the", "la", "l"])
_EDGE_SCOPE = _Phrases(
    {
        **_same(("month", 0), "mois|ce mois|ce mois ci|month|this month"),
        **_same(("month", 1), "mois prochain|next month"),
        **_same(("week", 0), "semaine|cette semaine|week|this week"),
        **_same(("week", 1), "semaine prochaine|next week"),
        **_same(("year", 0), "annee|cette annee|year|this year"),
        **_same(("year", 1), "annee prochaine|next year"),
    }
)
_NEXT_PERIOD = _Phrases(
    {
        **_same(("week", 1), "la semaine prochaine|semaine prochaine|next week"),
        **_same(("month", 1), "le mois prochain|mois prochain|next month"),
        **_same(
            ("year", 1), "l annee prochaine|annee prochaine|l an prochain|an prochain|next year"
        ),
        **_same(("week", 2), "the week after next|la semaine d apres la semaine prochaine"),
        # the start of the last period, as "next week" is the start of the next one
        **_same(("week", -1), "la semaine derniere|semaine derniere|last week"),
        **_same(("month", -1), "le mois dernier|mois dernier|last month"),
        **_same(("year", -1), "l annee derniere|annee derniere|l an dernier|last year"),
    }
)
_VAGUE = _Phrases(
    _same(
        0, "cette semaine|this week|ce mois ci|ce mois|this month|dans la semaine|later this week"
    )
)
_MONTH_ONLY_LEAD = _Phrases(_same(0, "en|in|courant|au mois de|au mois d|in the month of"))
_IN_MONTH = _Phrases(
    {
        **_same(1, "du mois prochain|du mois suivant|of next month|next month"),
        **_same(0, "de ce mois|de ce mois ci|du mois en cours|of this month|this month"),
    }
)
_MONTH_SCOPE = _Phrases(
    {**_same(1, "mois prochain|mois suivant|next month"), **_same(0, "ce mois|this month")}
)
_EVERY_MONTH = _Phrases(
    _same(
        0,
        "du mois|de chaque mois|de tous les mois|par mois"
        "|of the month|of every month|of each month|each month|every month",
    )
)

# Hedges keep the date or time they qualify: "vers 15h" is 15:00, "around the 15th" the 15th.
_HEDGES = (
    "vers|environ|a environ|aux alentours de|autour de|a peu pres|around|about|approximately"
    "|roughly|at around|at about|at approximately|circa"
)
# Words around a date that change nothing: a deadline "avant vendredi" is due on Friday.
# The value is 1 when the words end with an article ("avant le 15", "jusqu'au 15").
_LEAD = _Phrases(
    {
        **_same(
            0,
            "pour|pour :|d ici|d ici a|by|due|due :|due on|for|jusqu a|until|au plus tard"
            "|at the latest|des|avant|before|a partir de|starting|starting on|starting from"
            "|no later than|not later than|deadline|deadline :|echeance|echeance :|" + _HEDGES,
        ),
        **_same(
            1,
            "avant le|jusqu au|a partir du|aux environs du|aux alentours du|autour du|vers le"
            "|des le|pour le|d ici le|au plus tard le|echeance le",
        ),
    }
)
_SUFFIX = _Phrases(
    _same(0, "au plus tard|at the latest|dernier delai|latest|environ|ish|a peu pres|or so")
)
_DATE_TIME_SEP = _Phrases(_same(0, ",|a|at|@|-|des|on|" + _HEDGES))
# The value says whether a bare number after it is an hour ("at 3", "around 10").
_TIME_LEAD = _Phrases(
    {
        **_same(False, "a|des|" + _HEDGES),
        **_same(True, "at|@|around|about|at around|at about|approximately|roughly"),
    }
)
_TIME_DATE_SEP = _Phrases(_same(0, ",|on"))
_RANGE_LEAD = _Phrases({"de": "-", "from": "-", "entre": "et", "between": "and"})
_RANGE_SEP = _Phrases(
    {**_same("-", "-"), **_same("a", "a|jusqu a|au"), **_same("to", "to|until|till")}
)
_MERIDIEM = _Phrases({**_same("am", "am|a m"), **_same("pm", "pm|p m")})
# A part of the day after an hour, by its default hour (9 morning, 14 afternoon, 18 evening,
# 20 night), which also names the hours it holds (``_PART_HOURS``).
_HOUR_QUALIFIER = _Phrases(
    {
        **_same(9, "du matin|du mat|in the morning"),
        **_same(14, "de l apres midi|de l aprem|in the afternoon"),
        **_same(18, "du soir|in the evening"),
        "at night": 20,
    }
)
_PART_HOURS = {9: (0, 11), 12: (11, 14), 14: (12, 19), 18: (17, 23), 20: (18, 23)}
_MINUTE_WORDS = _Phrases(
    {
        **_same(30, "et demie|et demi"),
        "et quart": 15,
        **_same(-15, "moins le quart|moins quart"),
    }
)
_MINUTE_NUMBER = _Phrases(
    {
        **_same(5, "cinq"),
        **_same(10, "dix"),
        **_same(15, "quinze"),
        **_same(20, "vingt"),
        **_same(30, "trente"),
        **_same(40, "quarante"),
        **_same(45, "quarante cinq"),
        **_same(50, "cinquante"),
    }
)
_HOUR_WORDS = _Phrases(
    _numbered(
        "une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize",
        1,
    )
    | {
        "dix sept": 17,
        "dix huit": 18,
        "dix neuf": 19,
        "vingt": 20,
        "vingt et une": 21,
        "vingt deux": 22,
        "vingt trois": 23,
    }
)
_HOUR_WORDS_EN = _Phrases(
    _numbered("one two three four five six seven eight nine ten eleven twelve", 1)
)
_MINUTE_WORDS_EN = _Phrases(
    {
        **_same(5, "oh five"),
        **_same(10, "ten"),
        **_same(15, "fifteen"),
        **_same(20, "twenty"),
        **_same(30, "thirty"),
        **_same(40, "forty"),
        **_same(45, "forty five"),
        **_same(50, "fifty"),
    }
)
_CLOCK_AMOUNT = _Phrases({**_same(15, "a quarter|quarter"), **_same(30, "half|a half")})
_CLOCK_DIRECTION = _Phrases({**_same(1, "past|after|from"), **_same(-1, "to|before")})
_EXACTLY = _Phrases(_same(0, "pile|tapantes|tapant|precises|precise|sharp|on the dot"))
_O_CLOCK = _Phrases(_same(0, "o clock"))

_REC_LEAD = _Phrases(
    {
        **_same("every", "tous les|toutes les|tout les|chaque|every|each"),
        **_same("plural", "les|on"),
    }
)
_DAILY = _Phrases(_same(0, "jours|jour|day|days"))
_WORKDAYS = _Phrases(
    _same(
        0,
        "jours ouvres|jours ouvrables|jours de semaine|jours de la semaine|jour ouvre"
        "|jour ouvrable|weekday|weekdays|working day|working days|business day"
        "|business days|workday|workdays",
    )
)
_WEEK_WORD = _Phrases(_same(0, "semaine|semaines|week|weeks"))
_MONTH_WORD = _Phrases(_same(0, "mois|month|months"))
_ADVERB_FREQ = _Phrases({"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"})
_LIST_SEP = _Phrases(_same(0, "et|and|,|&|, et|, and|/"))
_LIST_ARTICLE = _Phrases(_same(0, "les|le"))
_WEEK_DAY_LEAD = _Phrases(_same(0, "le|on|,|les"))
_MONTH_DAY_LEAD = _Phrases(_same(0, "le|on|on the|,|the"))
_LAST_DAY = _Phrases({**_same(-1, "dernier jour|last day"), **_same(1, "premier jour|first day")})

_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --------------------------------------------------------------------------- parsed forms


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    midnight: bool = False  # "minuit": the start or the end of the day?
    default: bool = False  # from "matin", "soir": an explicit time wins
    meridiem: str | None = None  # "am"/"pm" when typed, for ranges like "2-4pm"
    bare: bool = False  # a bare number in a range ("14-16h")
    loose: bool = False  # an hour said without "h" nor am/pm ("at 3"): 1 to 7 asks back
    clash: bool = False  # the hour is not in the part of the day said ("ce soir à 2h")


def _in_part_pair(clocks: tuple[_Clock, _Clock | None], part: int) -> tuple[_Clock, _Clock | None]:
    start, end = clocks
    if start.default:
        return clocks
    return _in_part(start, part), _in_part(end, part) if end else None


def _in_part(clock: _Clock, part: int) -> _Clock:
    """The hour read in a part of the day: "ce soir à 8h" is 20:00, "cet après-midi à 3h"
    15:00; an hour outside it ("ce matin à 15h", "ce soir à 2h") is a clash."""
    low, high = _PART_HOURS[part]
    hour = clock.hour
    if clock.midnight or clock.clash:
        return replace(clock, clash=True)
    if clock.meridiem is None and part != 9 and 1 <= hour <= 11 and not low <= hour <= high:
        hour += 12
    if not low <= hour <= high:
        return replace(clock, clash=True)
    return replace(clock, hour=hour, loose=False)


@dataclass(frozen=True)
class _RelDays:
    delta: relativedelta


@dataclass(frozen=True)
class _RelMinutes:
    minutes: int


@dataclass(frozen=True)
class _WeekdaySpec:
    weekday: int
    how: str  # bare, next, this, last, in_8, in_15, next_week, last_week
    weeks: int = 0  # weeks after it ("a week from friday")


@dataclass(frozen=True)
class _DayMonth:
    day: int
    month: int
    year: int | None
    weekday: int | None


@dataclass(frozen=True)
class _Numeric:
    """``a/b[/year]`` as typed: which is the day depends on the language."""

    a: int
    b: int
    year: int | None
    weekday: int | None
    short_year: bool = False  # "15/01/27": read only when it names a year near now


@dataclass(frozen=True)
class _DayOnly:
    day: int
    weekday: int | None
    month_offset: int | None = None  # "le 15 du mois prochain": 1


@dataclass(frozen=True)
class _NthWeekday:
    n: int
    weekday: int
    month: int | None  # a named month, or None with ``offset`` from the current one
    year: int | None
    offset: int


@dataclass(frozen=True)
class _Edge:
    where: str  # start, mid, end
    scope: str  # month, week, year, named_month, named_year
    offset: int = 0
    month: int | None = None
    year: int | None = None


@dataclass(frozen=True)
class _Imprecise:
    pass


@dataclass(frozen=True)
class _Agreed:
    """A weekday said with a date ("jeudi prochain 3 décembre"): both must be the same day."""

    weekday: _WeekdaySpec
    date: _DayMonth | _Numeric | _DayOnly


_DateSpec = (
    _RelDays
    | _RelMinutes
    | _WeekdaySpec
    | _DayMonth
    | _Numeric
    | _DayOnly
    | _NthWeekday
    | _Edge
    | _Imprecise
    | _Agreed
)


@dataclass(frozen=True)
class _Recur:
    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    bymonthday: int | None = None


@dataclass(frozen=True)
class _Expr:
    date: _DateSpec | None = None
    clock: _Clock | None = None
    end: _Clock | None = None
    recur: _Recur | None = None


_Hit = tuple[V, int]


def _delta(unit: str, n: int) -> relativedelta:
    match unit:
        case "fortnights":
            return relativedelta(weeks=2 * n)
        case "days":
            return relativedelta(days=n)
        case "weeks":
            return relativedelta(weeks=n)
        case "months":
            return relativedelta(months=n)
    return relativedelta(years=n)


# --------------------------------------------------------------------------- grammar


class _Grammar:
    """A recursive-descent reader over folded tokens; each rule returns (value, next index)."""

    def __init__(self, toks: Sequence[_Tok], whole: bool = False, lang: str = "fr") -> None:
        self.toks = toks
        self.n = len(toks)
        # "mar 15" is Tuesday the 15th in French (mars is not shortened), 15 March in English
        self.mar_is_march = lang != "fr"
        # ``whole``: the text is all date (parse_when), so a part of the day alone ("soir")
        # is a time; in a title ("Atelier du soir") it is not.
        self.whole = whole
        # where a lead ended with an article ("avant le 15"): a bare number there is a day
        self.after_article: set[int] = set()

    # ---- small pieces

    def _text(self, i: int) -> str | None:
        return self.toks[i].text if i < self.n else None

    def _num(self, i: int, max_digits: int = 2) -> _Hit[int] | None:
        if i < self.n and self.toks[i].kind == "num" and len(self.toks[i].text) <= max_digits:
            return int(self.toks[i].text), i + 1
        return None

    def _glued(self, i: int) -> bool:
        return i < self.n and self.toks[i].glued

    def _sym(self, i: int, s: str, glued: bool = True) -> int | None:
        if i < self.n and self.toks[i].text == s and (self.toks[i].glued or not glued):
            return i + 1
        return None

    def _opt(self, table: _Phrases[Any], i: int) -> int:
        hit = table.match(self.toks, i)
        return hit[1] if hit else i

    def _year4(self, i: int) -> _Hit[int] | None:
        if i < self.n and self.toks[i].kind == "num" and len(self.toks[i].text) == 4:
            return int(self.toks[i].text), i + 1
        return None

    def _day_number(self, i: int) -> _Hit[int] | None:
        """15, 1er, 15th, premier, first."""
        hit = self._num(i)
        if hit:
            value, j = hit
            if j < self.n and self.toks[j].kind == "word" and self._glued(j):
                if self.toks[j].text not in _DAY_SUFFIXES:
                    return None  # "2e", "14h": not a day of the month
                j += 1
            return value, j
        word = self._text(i)
        if word in ("premier", "first"):
            return 1, i + 1
        return None

    def _ordinal(self, i: int) -> _Hit[int] | None:
        """premier, 1er, 2e, deuxième, second, last, dernier."""
        hit = self._num(i, 1)
        if hit and self._text(hit[1]) in _ORDINAL_SUFFIXES and self._glued(hit[1]):
            return hit[0], hit[1] + 1
        return _ORDINAL_WORDS.match(self.toks, i)

    def _count(self, i: int) -> _Hit[int] | None:
        return self._num(i, 3) or _COUNT_WORDS.match(self.toks, i)

    def _weekday_prefix(self, i: int, short: bool) -> _Hit[int | None]:
        """An optional weekday before a date ("mardi 8 décembre", "Tue, Dec 8")."""
        hit = (_WEEKDAY_SHORT if short else _WEEKDAY).match(self.toks, i)
        if not hit:
            return None, i
        wd, j = hit
        if self._text(j) == ",":
            j += 1
        return wd, j

    def _article(self, i: int) -> int:
        for words in (("on", "the"), ("le",), ("the",), ("on",)):
            j = i
            for w in words:
                if self._text(j) != w:
                    break
                j += 1
            else:
                return j
        return i

    # ---- times

    def clock(self, i: int, loose: bool = False) -> _Hit[_Clock] | None:
        """A time of day. ``loose``: a bare number may be an hour ("at 3", "at 10 30")."""
        shifted = self._shifted_clock(i)
        if shifted:
            return shifted
        hit = self._clock(i, loose)
        if hit is None:
            return None
        clock, j = hit
        return clock, self._opt(_EXACTLY, j)

    def _shifted_clock(self, i: int) -> _Hit[_Clock] | None:
        """ "a quarter past 3pm", "half past noon", "15 minutes from 1pm", "quarter to 5pm"."""
        amount = _CLOCK_AMOUNT.match(self.toks, i)
        if amount:
            minutes, j = amount
        else:
            count = self._num(i)
            unit = _UNIT.match(self.toks, count[1]) if count else None
            if count is None or unit is None or unit[0] != "minutes":
                return None
            minutes, j = count[0], unit[1]
        direction = _CLOCK_DIRECTION.match(self.toks, j)
        if direction is None:
            return None
        inner = self._clock(direction[1], loose=True)
        if inner is None:
            return None
        base, k = inner
        if base.midnight or base.clash:
            return None
        total = base.hour * 60 + base.minute + direction[0] * minutes
        if not 0 <= total < 24 * 60:
            return None
        return replace(base, hour=total // 60, minute=total % 60), k

    def _minutes_after(self, j: int) -> _Hit[int] | None:
        """Minutes said after the hour: "et demie", "moins le quart", "moins 10", "trente"."""
        extra = _MINUTE_WORDS.match(self.toks, j)
        if extra:
            return extra
        if self._text(j) == "moins":
            num = self._num(j + 1)
            if num and 0 < num[0] < 60 and not self._glued(j + 2):
                return -num[0], num[1]
        return None

    def _clock(self, i: int, loose: bool = False) -> _Hit[_Clock] | None:
        word = self._text(i)
        if word in ("midi", "noon", "midday"):
            clock, j = _Clock(12, 0), i + 1
            extra = self._minutes_after(j) or _MINUTE_NUMBER.match(self.toks, j)
            if extra:
                clock, j = _Clock(12 + (extra[0] < 0) * -1, extra[0] % 60), extra[1]
            return clock, j
        if word in ("minuit", "midnight"):
            return _Clock(0, 0, midnight=True), i + 1
        english = _HOUR_WORDS_EN.match(self.toks, i)
        if english:
            hour, j = english
            said = _MINUTE_WORDS_EN.match(self.toks, j)
            past = said[0] if said else 0
            j = said[1] if said else j
            meridiem = _MERIDIEM.match(self.toks, j)
            if meridiem:
                hour = hour % 12 + (12 if meridiem[0] == "pm" else 0)
                return _Clock(hour, past, meridiem=meridiem[0]), meridiem[1]
            o_clock = _O_CLOCK.match(self.toks, j)
            if o_clock or loose:
                return self._qualified(_Clock(hour, past, loose=True), j)
            return None
        words = _HOUR_WORDS.match(self.toks, i)
        if words and self._text(words[1]) in ("heures", "heure"):
            hour, j = words[0], words[1] + 1
            said = _MINUTE_NUMBER.match(self.toks, j) or self._minutes_after(j)
            clock = _Clock(hour, 0, loose=hour < 13)
            if said:
                total = hour * 60 + said[0]
                clock, j = replace(clock, hour=total // 60, minute=total % 60), said[1]
            return self._qualified(clock, j)
        hit = self._num(i)
        if not hit:
            return None
        hour, j = hit
        minute: int | None = None
        style = ""
        if self._text(j) == "h" or (self._text(j) in ("heure", "heures") and not self._glued(j)):
            style = "h"
            j += 1
            mins = self._num(j)
            # "14h30", "14 h 30", "14 heures 30"; but in "14h 15 janvier" the 15 is a day
            if (
                mins
                and len(self.toks[j].text) == 2
                and (self._glued(j) or not _MONTH_SHORT.match(self.toks, j + 1))
                and (self._text(j - 1) == "h" or not self._glued(j))
            ):
                minute, j = mins[0], mins[1]
        elif self._text(j) == ":" and self._glued(j) and self._glued(j + 1):
            mins = self._num(j + 1)
            if not mins or len(self.toks[j + 1].text) != 2:
                return None
            style, minute, j = ":", mins[0], mins[1]
            if self._text(j) == ":" and self._glued(j) and self._glued(j + 1):
                seconds = self._num(j + 1)  # "14:30:00": the seconds are dropped
                if seconds and len(self.toks[j + 1].text) == 2 and seconds[0] == 0:
                    j = seconds[1]
        elif self._text(j) == "." and self._glued(j) and self._glued(j + 1):
            mins = self._num(j + 1)
            if not mins or len(self.toks[j + 1].text) != 2:
                return None
            if not _MERIDIEM.match(self.toks, mins[1]):
                return None  # "12.01" is a date
            style, minute, j = ".", mins[0], mins[1]
        elif loose:
            # "at 10 30", "at 3 15 pm"
            mins = self._num(j)
            if (
                mins
                and len(self.toks[j].text) == 2
                and mins[0] < 60
                and not _MONTH_SHORT.match(self.toks, mins[1])
                and self._text(mins[1]) not in ("h", ":", "-", "/", ".")
            ):
                minute, j = mins[0], mins[1]
        meridiem = _MERIDIEM.match(self.toks, j)
        if meridiem:
            marker, j = meridiem
            if not 1 <= hour <= 12:
                return _Clock(99, minute or 0), j  # "14pm": impossible
            hour = hour % 12 + (12 if marker == "pm" else 0)
            return _Clock(hour, minute or 0, meridiem=marker), j
        if not style:
            o_clock = _O_CLOCK.match(self.toks, j)
            if o_clock:
                return self._qualified(_Clock(hour, minute or 0, loose=True), o_clock[1])
            if not loose:
                return None
            return self._qualified(_Clock(hour, minute or 0, loose=True), j)
        # "2 heures" said in words is 2:00 or 14:00; "2h" is 2:00
        spelled = style == "h" and self._text(i + 1) in ("heure", "heures")
        # "3:30" without am/pm is 3:30 or 15:30 to many; "14:30", "8:30" are clear
        colon = style == ":" and 1 <= hour <= 7
        clock = _Clock(hour, minute or 0, loose=(spelled and hour < 13) or colon)
        if minute is None:
            extra = self._minutes_after(j)
            if extra:
                total = hour * 60 + extra[0]
                clock, j = replace(clock, hour=total // 60 % 24, minute=total % 60), extra[1]
        return self._qualified(clock, j)

    def _qualified(self, clock: _Clock, j: int) -> _Hit[_Clock]:
        """ "8h du soir", "3 heures de l'après-midi", "7 in the morning", "10 o'clock"."""
        qualifier = _HOUR_QUALIFIER.match(self.toks, j)
        if qualifier:
            part, j = qualifier
            clock = _in_part(clock, part)
            clock = replace(clock, meridiem="am" if part == 9 else "pm")
        j = self._opt(_O_CLOCK, j)
        return clock, j

    def _range_end(self, i: int, allow_bare: bool) -> _Hit[_Clock] | None:
        hit = self.clock(i)
        if hit:
            return hit
        if allow_bare:
            num = self._num(i)
            if num:
                return _Clock(num[0], 0, bare=True), num[1]
        return None

    def time_range(self, i: int) -> _Hit[tuple[_Clock, _Clock]] | None:
        lead = _RANGE_LEAD.match(self.toks, i)
        j = lead[1] if lead else i
        first = self.clock(j)
        if first is None:
            num = self._num(j)
            if num is None:
                return None
            first = (_Clock(num[0], 0, bare=True), num[1])
        start, j = first
        sep = _RANGE_SEP.match(self.toks, j)
        if lead and lead[0] in ("et", "and") and self._text(j) == lead[0]:
            sep = ("-", j + 1)
        if sep is None:
            return None
        second = self._range_end(sep[1], allow_bare=sep[0] == "-" and not start.bare)
        if second is None:
            return None
        end, k = second
        if start.bare and end.bare:
            return None
        if start.bare and end.meridiem == "pm" and start.hour + 12 <= end.hour:
            start = _Clock(start.hour + 12, start.minute)
        if end.bare and start.meridiem == "pm" and end.hour < 12:
            end = _Clock(end.hour + 12, end.minute)
        return (start, end), k

    def time_part(self, i: int) -> _Hit[tuple[_Clock, _Clock | None]] | None:
        """ "14h", "à 9h30", "de 14h à 16h", "10:00-11:30", "2-4pm"."""
        best: _Hit[tuple[_Clock, _Clock | None]] | None = None
        lead = _TIME_LEAD.match(self.toks, i)
        starts = [(i, False), (lead[1], lead[0])] if lead else [(i, False)]
        for j, loose in starts:
            rng = self.time_range(j)
            if rng and (best is None or rng[1] > best[1]):
                best = (rng[0][0], rng[0][1]), rng[1]
            one = self.clock(j, loose)
            if one and (best is None or one[1] > best[1]):
                best = (one[0], None), one[1]
        return best

    # ---- dates

    def rel_day(self, i: int) -> _Hit[_DateSpec] | None:
        hit = _REL_DAY.match(self.toks, i)
        if hit:
            return _RelDays(relativedelta(days=hit[0])), hit[1]
        return None

    def relative(self, i: int) -> _Hit[_DateSpec] | None:
        """ "dans 3 jours", "in 2 weeks", "il y a 3 jours", "3 days ago", "dans 2h30"."""
        lead = _REL_LEAD.match(self.toks, i)
        sign, j = lead if lead else (0, i)
        amount = _MINUTE_AMOUNT.match(self.toks, j)
        if amount and sign:  # "dans une demi-heure", "in an hour and a half"
            return _RelMinutes(sign * amount[0]), amount[1]
        count = self._count(j)
        if count is None:
            return None
        n, j = count
        unit_hit = _UNIT.match(self.toks, j)
        if unit_hit is None:
            return None
        unit, j = unit_hit
        extra_minutes = 0
        if unit == "hours" and self._text(j - 1) == "h" and self._glued(j):
            mins = self._num(j)
            if mins:
                extra_minutes, j = mins
        tail = _REL_TAIL.match(self.toks, j)
        if tail:
            if sign:
                return None
            sign, j = tail
        if not sign:
            return None
        if unit in ("hours", "minutes"):
            minutes = n * (60 if unit == "hours" else 1) + extra_minutes
            return _RelMinutes(sign * minutes), j
        return _RelDays(_delta(unit, sign * n)), j

    def weekday(self, i: int) -> _Hit[_DateSpec] | None:
        later = self._weeks_from(i)
        if later:
            return later
        prefix = _WD_PREFIX.match(self.toks, i)
        how_before, j = prefix if prefix else ("bare", i)
        hit = _WEEKDAY.match(self.toks, j)
        if hit is None:
            # "next fri", "thurs 10am"; "sun" or "sat" alone is no date
            hit = _WEEKDAY_SHORT.match(self.toks, j)
            if hit is None or not (
                how_before not in ("bare",) or self.time_part(self._opt(_DATE_TIME_SEP, hit[1]))
            ):
                return None
        wd, j = hit
        suffix = _WD_SUFFIX.match(self.toks, j)
        how = how_before
        if suffix:
            if how_before != "bare" and suffix[0] != how_before:
                return None
            how, j = suffix
        return _WeekdaySpec(wd, how), j

    def _agreed(self, i: int) -> _Hit[_DateSpec] | None:
        """ "jeudi prochain 3 décembre", "next Tuesday, December 8", "next Monday the 7th"."""
        hit = self.weekday(i)
        if hit is None:
            return None
        spec, j = hit
        if not isinstance(spec, _WeekdaySpec) or spec.how == "bare":
            return None
        j = j + 1 if self._text(j) == "," else j
        best: _Hit[_DateSpec] | None = None
        for rule in (self.day_month, self.numeric, self.day_only):
            said = rule(j)
            if said and (best is None or said[1] > best[1]):
                best = said
        if best is None or not isinstance(best[0], _DayMonth | _Numeric | _DayOnly):
            return None
        return _Agreed(spec, best[0]), best[1]

    def _weeks_from(self, i: int) -> _Hit[_DateSpec] | None:
        """ "3 fridays from now" (the third one to come), "a week from friday"."""
        count = self._count(i)
        if count is None:
            return None
        n, j = count
        plural = _WEEKDAY_PLURAL.match(self.toks, j)
        if plural and self.toks[j].text.endswith("s") and n >= 1:
            tail = _REL_TAIL.match(self.toks, plural[1])
            if tail and tail[0] == 1:
                return _WeekdaySpec(plural[0], "bare", n - 1), tail[1]
        unit = _UNIT.match(self.toks, j)
        if unit and self._text(unit[1]) in ("from", "on", "after"):
            wd = _WEEKDAY.match(self.toks, unit[1] + 1)
            if wd and unit[0] == "weeks":
                return _WeekdaySpec(wd[0], "bare", n), wd[1]
            day = _REL_DAY.match(self.toks, unit[1] + 1)
            if day and unit[0] in ("days", "weeks", "fortnights", "months"):
                # "a week from tomorrow", "3 days from today"
                return _RelDays(relativedelta(days=day[0]) + _delta(unit[0], n)), day[1]
        return None

    def day_month(self, i: int) -> _Hit[_DateSpec] | None:
        """ "le 1er mars", "mardi 8 décembre 2026", "Dec 15", "Tuesday, December 8th, 2026"."""
        hit = self._day_month(i, weekday_first=True)
        if hit is None and self.mar_is_march and self._text(self._article(i)) == "mar":
            hit = self._day_month(i, weekday_first=False)  # "Mar 15": March, in English
        return hit

    def _day_month(self, i: int, weekday_first: bool) -> _Hit[_DateSpec] | None:
        j = self._article(i)
        wd: int | None = None
        if weekday_first:
            wd, j = self._weekday_prefix(j, short=True)
        if wd is not None:
            j = self._article(j)
        day = self._day_number(j)
        if day:
            k = day[1]
            if self._text(k) in ("de", "of"):
                k += 1
            month = _MONTH_SHORT.match(self.toks, k)
            if month:
                return self._with_year(_DayMonth(day[0], month[0], None, wd), month[1])
        month = _MONTH_SHORT.match(self.toks, j)
        if month and (self._text(j) != "mar" or self.mar_is_march or wd is not None):
            k = month[1]
            if self._text(k) == "the":
                k += 1
            day = self._day_number(k)
            if day and not (self._text(day[1]) in ("h", ":") and self._glued(day[1])):
                return self._with_year(_DayMonth(day[0], month[0], None, wd), day[1])
        return None

    def _with_year(self, spec: _DayMonth, j: int) -> _Hit[_DateSpec]:
        k = j + 1 if self._text(j) == "," else j
        year = self._year4(k)
        if year:
            return _DayMonth(spec.day, spec.month, year[0], spec.weekday), year[1]
        if self._text(j) in ("prochain", "next"):
            return spec, j + 1  # "le 15 décembre prochain": a date without a year is the next
        return spec, j

    def numeric(self, i: int) -> _Hit[_DateSpec] | None:
        """ "12/01", "15/01/2027", "15.01.2027", "15-01-2027", "2027-01-15"."""
        j = self._article(i)
        wd, j = self._weekday_prefix(j, short=True)
        if wd is not None:
            j = self._article(j)
        if j >= self.n or self.toks[j].kind != "num":
            return None
        first = self.toks[j].text
        if len(first) == 4 and self._sym(j + 1, "-") and self._num(j + 2):
            if self._sym(j + 3, "-") and self._num(j + 4) and self._glued(j + 2):
                return _DayMonth(
                    int(self.toks[j + 4].text), int(self.toks[j + 2].text), int(first), wd
                ), j + 5
            return None
        if len(first) > 2:
            return None
        for sep in ("/", ".", "-"):
            if self._sym(j + 1, sep) and self._glued(j + 2) and self._num(j + 2):
                a, b = int(first), int(self.toks[j + 2].text)
                k = j + 3
                year: int | None = None
                short_year = False
                if self._sym(k, sep) and self._glued(k + 1):
                    y = self._num(k + 1, 4)
                    if y and len(self.toks[k + 1].text) in (2, 4):
                        short_year = y[0] < 100
                        year = y[0] + (2000 if short_year else 0)
                        k = y[1]
                if sep == "-" and year is None:
                    return None  # "14-16" is a range of hours
                if sep == "." and year is None and _MERIDIEM.match(self.toks, k):
                    return None
                return _Numeric(a, b, year, wd, short_year), k
        return None

    def day_only(self, i: int) -> _Hit[_DateSpec] | None:
        """ "le 15", "the 15th", "mardi 8", "Tuesday the 8th"."""
        j = self._article(i)
        wd, k = self._weekday_prefix(j, short=not (self.mar_is_march and self._text(j) == "mar"))
        if wd is not None:
            k = self._article(k)
        day = self._day_number(k)
        if day is None or (day[0] == 1 and self._text(k) in ("premier", "first") and wd is None):
            return None
        if self._text(day[1]) in ("h", ":", "heures", "heure", "am", "pm", "-", "to"):
            return None  # "le 14h", "Monday 9-11am": hours, not a day
        if self._text(k - 1) == "the" and day[1] == k + 1 and self.toks[k].kind == "num":
            return None  # "the 2 drafts"; "the 2nd" is a day
        # "15th at 2pm": without an article, a day by its suffix, when a time follows
        if (
            wd is None
            and j == i
            and i not in self.after_article
            and (day[1] == k + 1 or self._time_after_date(day[1]) is None)
        ):
            return None
        scope = _IN_MONTH.match(self.toks, day[1])
        if scope:
            return _DayOnly(day[0], wd, scope[0]), scope[1]
        return _DayOnly(day[0], wd), day[1]

    def nth_weekday(self, i: int) -> _Hit[_DateSpec] | None:
        """ "le premier mardi de décembre", "the last friday of next month"."""
        j = self._article(i)
        ordinal = self._ordinal(j)
        if ordinal is None:
            return None
        n, j = ordinal
        wd = _WEEKDAY.match(self.toks, j)
        if wd is None:
            return None
        j = wd[1]
        if self._text(j) not in ("de", "d", "du", "of", "in"):
            return None
        connector = self._text(j)
        j += 1
        scope = _MONTH_SCOPE.match(self.toks, j)
        if scope and connector in ("du", "of"):
            return _NthWeekday(n, wd[0], None, None, scope[0]), scope[1]
        month = _MONTH.match(self.toks, j)
        if month:
            year = self._year4(month[1])
            if year:
                return _NthWeekday(n, wd[0], month[0], year[0], 0), year[1]
            return _NthWeekday(n, wd[0], month[0], None, 0), month[1]
        return None

    def edge(self, i: int) -> _Hit[_DateSpec] | None:
        """ "fin du mois", "début janvier", "mi-mars", "end of next month", "fin 2027"."""
        if self._text(i) in ("la", "the", "en"):
            i += 1  # "d'ici la fin du mois", "by the end of the month", "en fin de mois"
        where = _EDGE.match(self.toks, i)
        if where is None:
            return None
        j = where[1]
        for _ in range(2):
            if self._text(j) in _EDGE_CONNECTOR:
                j += 1
        scope = _EDGE_SCOPE.match(self.toks, j)
        if scope:
            (kind, offset), k = scope
            return _Edge(where[0], kind, offset), k
        month = _MONTH_SHORT.match(self.toks, j)
        if month:
            year = self._year4(month[1])
            if year:
                return _Edge(where[0], "named_month", 0, month[0], year[0]), year[1]
            return _Edge(where[0], "named_month", 0, month[0], None), month[1]
        year = self._year4(j)
        if year:
            return _Edge(where[0], "named_year", 0, None, year[0]), year[1]
        return None

    def next_period(self, i: int) -> _Hit[_DateSpec] | None:
        hit = _NEXT_PERIOD.match(self.toks, i)
        if hit:
            (scope, offset), j = hit
            return _Edge("start", scope, offset), j
        return None

    def imprecise(self, i: int) -> _Hit[_DateSpec] | None:
        """ "en mars", "mars 2027", "cette semaine": the day is missing; Coordo asks back."""
        vague = _VAGUE.match(self.toks, i)
        if vague:
            return _Imprecise(), vague[1]
        lead = _MONTH_ONLY_LEAD.match(self.toks, i)
        j = lead[1] if lead else i
        month = _MONTH.match(self.toks, j)
        if month is None:
            return None
        year = self._year4(month[1])
        if year:
            return _Imprecise(), year[1]
        return (_Imprecise(), month[1]) if lead else None

    def date(self, i: int) -> _Hit[tuple[_DateSpec, _Clock | None]] | None:
        today_part = _TODAY_PART.match(self.toks, i)
        best: _Hit[tuple[_DateSpec, _Clock | None]] | None = None
        if today_part:
            best = (
                (_RelDays(relativedelta()), _Clock(today_part[0], 0, default=True)),
                today_part[1],
            )
        elif night := _LAST_NIGHT.match(self.toks, i):
            best = (_RelDays(relativedelta(days=-1)), _Clock(night[0], 0, default=True)), night[1]
        for rule in (
            self.rel_day,
            self.relative,
            self.weekday,
            self._agreed,
            self.day_month,
            self.numeric,
            self.day_only,
            self.nth_weekday,
            self.edge,
            self.next_period,
            self.imprecise,
        ):
            hit = rule(i)
            if hit and (best is None or hit[1] > best[1]):
                best = (hit[0], None), hit[1]
        return best

    # ---- whole expressions

    def _time_after_date(
        self, j: int, part: int | None = None
    ) -> _Hit[tuple[_Clock, _Clock | None]] | None:
        """The time after a date; ``part``: the part of the day said before it ("ce soir")."""
        best: _Hit[tuple[_Clock, _Clock | None]] | None = None
        for k in {j, self._opt(_DATE_TIME_SEP, j)}:
            t = self.time_part(k)
            if t and (best is None or t[1] > best[1]):
                best = t
        said = _PART_OF_DAY.match(self.toks, j)
        if said and (best is None or said[1] > best[1]):
            best = (_Clock(said[0], 0, default=True), None), said[1]
        # "demain matin à 10h": the explicit time wins over the part of the day
        if said and best and best[1] == said[1]:
            later = self._time_after_date(said[1], said[0])
            if later and not later[0][0].default:  # "matin après-midi" is no time
                best = later
        # "2026-12-15T14:00"
        if self._text(j) == "t" and self._glued(j) and self._glued(j + 1):
            t = self.time_part(j + 1)
            if t and (best is None or t[1] > best[1]):
                best = t
        if best and part is not None:
            best = _in_part_pair(best[0], part), best[1]
        return best

    def core(self, i: int) -> _Hit[_Expr] | None:
        best: _Hit[_Expr] | None = None
        d = self.date(i)
        if d:
            (spec, default_clock), j = d
            best = _Expr(spec, default_clock), j
            if not isinstance(spec, _RelMinutes | _Imprecise):
                part = default_clock.hour if default_clock else None
                t = self._time_after_date(j, part)
                if t:
                    (clock, end), k = t
                    best = _Expr(spec, clock, end), k
        t = self.time_part(i)
        num = self._num(i)
        if (
            t is None
            and num
            and (_REL_DAY.match(self.toks, num[1]) or _TODAY_PART.match(self.toks, num[1]))
        ):
            t = (_Clock(num[0], 0, loose=True), None), num[1]  # "9 tomorrow", "8 tonight"
        if t:
            (clock, end), j = t
            if best is None or j > best[1]:
                best = _Expr(None, clock, end), j
            k = self._opt(_TIME_DATE_SEP, j)
            d = self.date(k)
            if d:
                (spec, default_clock), k = d
                if default_clock is not None:  # "8h ce soir", "3 this afternoon"
                    clock, end = _in_part_pair((clock, end), default_clock.hour)
                if not isinstance(spec, _RelMinutes | _Imprecise) and (best is None or k > best[1]):
                    best = _Expr(spec, clock, end), k
        if best is None and self.whole:
            said = _PART_OF_DAY.match(self.toks, i)  # "soir", "in the afternoon"
            if said:
                best = _Expr(None, _Clock(said[0], 0, default=True)), said[1]
                d = self.date(said[1])  # "en fin de journée vendredi"
                if d and not isinstance(d[0][0], _RelMinutes | _Imprecise) and d[0][1] is None:
                    best = _Expr(d[0][0], _Clock(said[0], 0, default=True)), d[1]
        return best

    def _weekday_list(self, i: int) -> _Hit[tuple[int, ...]] | None:
        first = _WEEKDAY_PLURAL.match(self.toks, i)
        if first is None:
            return None
        days, j = [first[0]], first[1]
        while True:
            sep = _LIST_SEP.match(self.toks, j)
            if sep is None:
                break
            k = self._opt(_LIST_ARTICLE, sep[1])
            nxt = _WEEKDAY_PLURAL.match(self.toks, k)
            if nxt is None:
                break
            days.append(nxt[0])
            j = nxt[1]
        return tuple(sorted(set(days))), j

    def _monthly_body(
        self, i: int, need_scope: bool, bare_day: bool = False
    ) -> _Hit[_Recur] | None:
        """ "premier mardi du mois", "15 du mois", "dernier jour du mois", "15th"."""
        ordinal = self._ordinal(i)
        if ordinal:
            wd = _WEEKDAY_PLURAL.match(self.toks, ordinal[1])
            if wd:
                n = ordinal[0]
                scope = _EVERY_MONTH.match(self.toks, wd[1])
                if scope is None and need_scope:
                    return None
                return _Recur("MONTHLY", byday=(f"{n}{_BYDAY[wd[0]]}",)), (
                    scope[1] if scope else wd[1]
                )
        last = _LAST_DAY.match(self.toks, i)
        if last:
            scope = _EVERY_MONTH.match(self.toks, last[1])
            if scope is None and need_scope:
                return None
            return _Recur("MONTHLY", bymonthday=last[0]), scope[1] if scope else last[1]
        day = self._day_number(i)
        if day:
            scope = _EVERY_MONTH.match(self.toks, day[1])
            ordinal_suffix = day[1] > i + 1
            if scope is None and (need_scope or not (ordinal_suffix or bare_day)):
                return None
            return _Recur("MONTHLY", bymonthday=day[0]), scope[1] if scope else day[1]
        return None

    def _recur_body(self, i: int, lead: str) -> _Hit[_Recur] | None:
        best: _Hit[_Recur] | None = None

        def keep(hit: _Hit[_Recur] | None) -> None:
            nonlocal best
            if hit and (best is None or hit[1] > best[1]):
                best = hit

        days = self._weekday_list(i)
        if lead == "plural":
            # "les lundis", "on mondays"; but "on monday" is one day
            if days and self.toks[i].text.endswith("s"):
                return _Recur("WEEKLY", byday=tuple(_BYDAY[d] for d in days[0])), days[1]
            return None
        if days:
            keep((_Recur("WEEKLY", byday=tuple(_BYDAY[d] for d in days[0])), days[1]))
        if workdays := _WORKDAYS.match(self.toks, i):
            keep((_Recur("WEEKLY", byday=_BYDAY[:5]), workdays[1]))
        elif daily := _DAILY.match(self.toks, i):
            keep((_Recur("DAILY"), daily[1]))
        keep(self._monthly_body(i, need_scope=False))
        # every other tuesday / every 2 weeks on tuesday / toutes les semaines le lundi
        count = (2, i + 1) if self._text(i) in ("other", "second") else self._count(i)
        interval, j = count if count else (1, i)
        if count:
            days = self._weekday_list(j)
            if days and count[0] == 2 and self._text(i) == "other":
                keep((_Recur("WEEKLY", 2, tuple(_BYDAY[d] for d in days[0])), days[1]))
        week = _WEEK_WORD.match(self.toks, j)
        if week:
            k = self._opt(_WEEK_DAY_LEAD, week[1])
            days = self._weekday_list(k)
            if days:
                keep((_Recur("WEEKLY", interval, tuple(_BYDAY[d] for d in days[0])), days[1]))
        month = _MONTH_WORD.match(self.toks, j)
        if month and interval == 1:
            k = self._opt(_MONTH_DAY_LEAD, month[1])
            keep(self._monthly_body(k, need_scope=False, bare_day=k > month[1]))
        return best

    def recurrence(self, i: int) -> _Hit[_Expr] | None:
        best: _Hit[_Recur] | None = None
        lead = _REC_LEAD.match(self.toks, i)
        if lead:
            best = self._recur_body(lead[1], lead[0])
        adverb = _ADVERB_FREQ.match(self.toks, i)
        if adverb and best is None:
            j = self._opt(_MONTH_DAY_LEAD, adverb[1])
            if adverb[0] == "DAILY":
                best = _Recur("DAILY"), adverb[1]
            elif adverb[0] == "WEEKLY":
                days = self._weekday_list(j)
                if days:
                    best = _Recur("WEEKLY", byday=tuple(_BYDAY[d] for d in days[0])), days[1]
            else:
                best = self._monthly_body(j, need_scope=False, bare_day=j > adverb[1])
        if best is None:
            # "mondays at 9", "le premier mardi du mois", "the 15th of every month"
            j = self._article(i)
            plural = _WEEKDAY_PLURAL.match(self.toks, j)
            if plural and self.toks[j].text.endswith("s") and j == i:
                days = self._weekday_list(j)
                assert days is not None
                best = _Recur("WEEKLY", byday=tuple(_BYDAY[d] for d in days[0])), days[1]
            else:
                best = self._monthly_body(j, need_scope=True)
            # "un mardi sur deux"
            if best is None and self._text(i) in ("un", "une"):
                wd = _WEEKDAY.match(self.toks, i + 1)
                if wd and self._text(wd[1]) == "sur" and self._text(wd[1] + 1) == "deux":
                    best = _Recur("WEEKLY", 2, (_BYDAY[wd[0]],)), wd[1] + 2
        if best is None:
            return None
        recur, j = best
        t = self._time_after_date(j)
        if t:
            (clock, end), k = t
            return _Expr(None, clock, end, recur), k
        return _Expr(None, None, None, recur), j

    def expression(self, i: int) -> _Hit[_Expr] | None:
        best: _Hit[_Expr] | None = None
        lead = _LEAD.match(self.toks, i)
        if lead and lead[0] == 1:
            self.after_article.add(lead[1])
        for j in (i, lead[1]) if lead else (i,):
            for rule in (self.core, self.recurrence):
                hit = rule(j)
                if hit and (best is None or hit[1] > best[1]):
                    best = hit
        if best:
            suffix = _SUFFIX.match(self.toks, best[1])
            if suffix:
                best = best[0], suffix[1]
        return best


_START_WORDS: frozenset[str] = frozenset(
    w
    for table in (
        _WEEKDAY_SHORT,
        _WEEKDAY_PLURAL,
        _MONTH_SHORT,
        _REL_DAY,
        _REL_LEAD,
        _TODAY_PART,
        _WD_PREFIX,
        _ORDINAL_WORDS,
        _EDGE,
        _NEXT_PERIOD,
        _VAGUE,
        _MONTH_ONLY_LEAD,
        _LEAD,
        _TIME_LEAD,
        _RANGE_LEAD,
        _REC_LEAD,
        _ADVERB_FREQ,
        _COUNT_WORDS,
        _HOUR_WORDS,
        _HOUR_WORDS_EN,
        _CLOCK_AMOUNT,
        _LAST_NIGHT,
    )
    for w in table.by_first
) | {"midi", "noon", "midday", "minuit", "midnight", "the", "le", "on"}


def _may_start(tok: _Tok) -> bool:
    return tok.kind == "num" or tok.text in _START_WORDS


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class _Context:
    text: str  # the expression as typed, for messages
    now: datetime  # aware, in ``zone``
    zone: ZoneInfo
    lang: str
    mode: Mode

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def past(self) -> bool:
        """Read year-less dates and bare weekdays backwards (the date of something done)."""
        return self.mode == "done"


def _date_params(d: date, clock: time | None = None) -> dict[str, Any]:
    return {
        "day": d.day,
        "month": d.month,
        "year": d.year,
        "weekday": d.weekday(),
        "time": clock.strftime("%H:%M") if clock else "",
    }


def _valid_date(ctx: _Context, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError("dates.impossible", text=ctx.text) from None


def _year_for(ctx: _Context, month: int, day: int) -> int:
    today = ctx.today
    if ctx.past:
        return today.year if (month, day) <= (today.month, today.day) else today.year - 1
    return today.year if (month, day) >= (today.month, today.day) else today.year + 1


def _check_weekday(ctx: _Context, d: date, weekday: int | None) -> date:
    if weekday is not None and d.weekday() != weekday:
        raise DateError(
            "dates.weekday_mismatch",
            text=ctx.text,
            typed_weekday=weekday,
            **_date_params(d),
        )
    return d


def _day_month(ctx: _Context, day: int, month: int, year: int | None, weekday: int | None) -> date:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise DateError("dates.impossible", text=ctx.text)
    if year is not None and not 1900 <= year <= 2200:
        raise DateError("dates.impossible", text=ctx.text)
    d = _valid_date(ctx, year if year is not None else _year_for(ctx, month, day), month, day)
    return _check_weekday(ctx, d, weekday)


def _numeric(ctx: _Context, spec: _Numeric) -> date:
    if spec.short_year and spec.year is not None and abs(spec.year - ctx.today.year) > 10:
        # "31/10/74": 1974 or 2074? Coordo reads two digits only for a year near now
        raise DateError("dates.short_year", text=ctx.text, year=spec.year % 100)
    if ctx.lang == "fr":
        return _day_month(ctx, spec.a, spec.b, spec.year, spec.weekday)
    # English: day first or month first; ask back when both readings exist, unless the
    # weekday typed holds for one of them only ("Sat 12/5" is Saturday 5 December)
    readings: list[date] = []
    for day, month in ((spec.a, spec.b), (spec.b, spec.a)):
        try:
            readings.append(_day_month(ctx, day, month, spec.year, None))
        except DateError as error:
            if error.key != "dates.impossible":
                raise
    unique = sorted(set(readings))
    if not unique:
        raise DateError("dates.impossible", text=ctx.text)
    if spec.weekday is not None:
        holding = [d for d in unique if d.weekday() == spec.weekday]
        if not holding:
            return _check_weekday(ctx, unique[0], spec.weekday)
        unique = holding
    if len(unique) > 1:
        raise DateError(
            "dates.ambiguous", text=ctx.text, readings=[_date_params(d) for d in unique]
        )
    return unique[0]


def _day_only(ctx: _Context, spec: _DayOnly) -> date:
    if not 1 <= spec.day <= 31:
        raise DateError("dates.impossible", text=ctx.text)
    if spec.month_offset is not None:
        month = ctx.today.replace(day=1) + relativedelta(months=spec.month_offset)
        d = _valid_date(ctx, month.year, month.month, spec.day)
        return _check_weekday(ctx, d, spec.weekday)
    step = -1 if ctx.past else 1
    first = ctx.today.replace(day=1)
    for k in range(13):
        month_start = first + relativedelta(months=step * k)
        if spec.day > calendar.monthrange(month_start.year, month_start.month)[1]:
            continue
        d = month_start.replace(day=spec.day)
        if (d <= ctx.today) if ctx.past else (d >= ctx.today):
            return _check_weekday(ctx, d, spec.weekday)
    raise DateError("dates.impossible", text=ctx.text)  # pragma: no cover - every day fits a month


def _weekday(ctx: _Context, spec: _WeekdaySpec) -> date:
    return _weekday_base(ctx, spec) + timedelta(weeks=spec.weeks)


def _weekday_base(ctx: _Context, spec: _WeekdaySpec) -> date:
    today = ctx.today
    monday = today - timedelta(days=today.weekday())
    after = today + timedelta(days=(spec.weekday - today.weekday() - 1) % 7 + 1)
    before = today - timedelta(days=(today.weekday() - spec.weekday - 1) % 7 + 1)
    match spec.how:
        case "bare":
            return before if ctx.past else after
        case "next":
            return after + timedelta(days=7) if after < monday + timedelta(days=7) else after
        case "this":
            return monday + timedelta(days=spec.weekday)
        case "last":
            return before
        case "in_8":
            return after + timedelta(days=7)
        case "in_15":
            return after + timedelta(days=14)
        case "next_week":
            return monday + timedelta(days=7 + spec.weekday)
        case "last_week":
            return monday + timedelta(days=spec.weekday - 7)
    raise AssertionError(spec.how)  # pragma: no cover


def _nth_weekday_of(year: int, month: int, n: int, weekday: int) -> date | None:
    days = [
        date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    if n > 0:
        return days[n - 1] if n <= len(days) else None
    return days[n] if -n <= len(days) else None


def _nth_weekday(ctx: _Context, spec: _NthWeekday) -> date:
    today = ctx.today
    if spec.month is None:
        base = today.replace(day=1) + relativedelta(months=spec.offset)
        candidates = [(base.year, base.month)]
    elif spec.year is not None:
        candidates = [(spec.year, spec.month)]
    else:
        step = -1 if ctx.past else 1
        candidates = [(today.year, spec.month), (today.year + step, spec.month)]
    for k, (year, month) in enumerate(candidates):
        d = _nth_weekday_of(year, month, spec.n, spec.weekday)
        if d is None:
            raise DateError("dates.impossible", text=ctx.text)
        last = k == len(candidates) - 1
        if last or ((d <= today) if ctx.past else (d >= today)):
            return d
    raise AssertionError("unreachable")  # pragma: no cover


def _edge_of(where: str, scope: str, first: date) -> date:
    if scope == "week":
        return first + timedelta(days={"start": 0, "mid": 2, "end": 4}[where])
    if scope == "year":
        return {
            "start": first,
            "mid": first.replace(month=7),
            "end": first.replace(month=12, day=31),
        }[where]
    last = calendar.monthrange(first.year, first.month)[1]
    return first.replace(day={"start": 1, "mid": 15, "end": last}[where])


def _edge(ctx: _Context, spec: _Edge) -> date:
    today = ctx.today
    step = -1 if ctx.past else 1

    def in_direction(d: date) -> bool:
        return d <= today if ctx.past else d >= today

    if spec.scope == "named_year":
        assert spec.year is not None
        return _edge_of(spec.where, "year", date(spec.year, 1, 1))
    if spec.scope == "named_month":
        assert spec.month is not None
        if spec.year is not None:
            return _edge_of(spec.where, "month", date(spec.year, spec.month, 1))
        d = _edge_of(spec.where, "month", date(today.year, spec.month, 1))
        if not in_direction(d):
            d = _edge_of(spec.where, "month", date(today.year + step, spec.month, 1))
        return d
    unit = {"week": relativedelta(weeks=1), "month": relativedelta(months=1)}.get(
        spec.scope, relativedelta(years=1)
    )
    if spec.scope == "week":
        first = today - timedelta(days=today.weekday())
    elif spec.scope == "month":
        first = today.replace(day=1)
    else:
        first = today.replace(month=1, day=1)
    d = _edge_of(spec.where, spec.scope, first + unit * spec.offset)
    if spec.offset == 0 and not in_direction(d):
        # "début du mois" said on the 24th is the next 1st
        d = _edge_of(spec.where, spec.scope, first + unit * step)
    return d


def _resolve_date(ctx: _Context, spec: _DateSpec) -> date:
    match spec:
        case _RelDays(delta):
            return ctx.today + delta
        case _WeekdaySpec():
            return _weekday(ctx, spec)
        case _DayMonth(day, month, year, weekday):
            return _day_month(ctx, day, month, year, weekday)
        case _Numeric():
            return _numeric(ctx, spec)
        case _DayOnly():
            return _day_only(ctx, spec)
        case _NthWeekday():
            return _nth_weekday(ctx, spec)
        case _Edge():
            return _edge(ctx, spec)
        case _Imprecise():
            raise DateError("dates.imprecise", text=ctx.text)
        case _Agreed(weekday, said):
            first, second = _weekday(ctx, weekday), _resolve_date(ctx, said)
            if first != second:
                raise DateError(
                    "dates.ambiguous",
                    text=ctx.text,
                    readings=[_date_params(first), _date_params(second)],
                )
            return first
    raise AssertionError(spec)  # pragma: no cover


def _clock_time(ctx: _Context, clock: _Clock) -> time:
    if clock.clash:
        raise DateError("dates.clash", text=ctx.text)
    if clock.loose and 0 <= clock.hour <= 7:
        # "at 3": 3:00 or 15:00? Nothing says; ask back
        raise DateError(
            "dates.which_hour",
            text=ctx.text,
            morning=f"{clock.hour:02d}:{clock.minute:02d}",
            afternoon=f"{clock.hour + 12:02d}:{clock.minute:02d}",
        )
    if not (0 <= clock.hour <= 23 and 0 <= clock.minute <= 59):
        raise DateError("dates.impossible", text=ctx.text)
    return time(clock.hour, clock.minute)


def _at(ctx: _Context, d: date, t: time) -> datetime:
    """Local wall time to an aware datetime; a time skipped by a DST change moves forward."""
    local = datetime.combine(d, t, tzinfo=ctx.zone)
    return local.astimezone(UTC).astimezone(ctx.zone)


def _now_minute(ctx: _Context) -> datetime:
    return ctx.now.replace(second=0, microsecond=0)


def _check_mode(ctx: _Context, start: datetime, has_time: bool) -> None:
    if has_time:
        is_past = start < _now_minute(ctx)
        is_future = start > ctx.now
    else:
        is_past = start.date() < ctx.today
        is_future = start.date() > ctx.today
    clock = start.time() if has_time else None
    if ctx.mode == "deadline" and is_past:
        raise DateError("dates.past", text=ctx.text, **_date_params(start.date(), clock))
    if ctx.mode == "done" and is_future:
        raise DateError("dates.future", text=ctx.text, **_date_params(start.date(), clock))


def _rrule_text(recur: _Recur, t: time | None) -> str:
    parts = [f"FREQ={recur.freq}"]
    if recur.interval > 1:
        parts.append(f"INTERVAL={recur.interval}")
    if recur.byday:
        parts.append("BYDAY=" + ",".join(recur.byday))
    if recur.bymonthday is not None:
        parts.append(f"BYMONTHDAY={recur.bymonthday}")
    if t is not None:
        parts.append(f"BYHOUR={t.hour};BYMINUTE={t.minute}")
    return ";".join(parts)


def _resolve_recurrence(ctx: _Context, expr: _Expr) -> When:
    assert expr.recur is not None
    monthday = expr.recur.bymonthday
    if monthday is not None and not (1 <= monthday <= 31 or monthday == -1):
        raise DateError("dates.impossible", text=ctx.text)  # "tous les 32 du mois"
    if expr.recur.interval < 1:
        raise DateError("dates.impossible", text=ctx.text)
    t = _clock_time(ctx, expr.clock) if expr.clock else None
    end_t = _clock_time(ctx, expr.end) if expr.end else None
    midnight = datetime.combine(ctx.today, time())
    # the first occurrence ignores INTERVAL: the series starts at it
    first_rule = rrulestr(
        _rrule_text(_Recur(**{**expr.recur.__dict__, "interval": 1}), t), dtstart=midnight
    )
    threshold = _now_minute(ctx).replace(tzinfo=None) if t else midnight
    first = first_rule.after(threshold, inc=True)
    if first is None:  # pragma: no cover - every rule Coordo builds recurs
        raise DateError("dates.impossible", text=ctx.text)
    start = _at(ctx, first.date(), first.time())
    end = None
    if t is not None and end_t is not None:
        if end_t <= t:
            raise DateError("dates.bad_range", text=ctx.text)
        end = _at(ctx, first.date(), end_t)
    return When(start=start, has_time=t is not None, end=end, rrule=_rrule_text(expr.recur, t))


def _resolve(ctx: _Context, expr: _Expr) -> When:
    if expr.recur is not None:
        return _resolve_recurrence(ctx, expr)
    spec = expr.date
    if isinstance(spec, _RelMinutes):
        # in UTC: "dans 2 heures" across a change of the clocks is still two hours
        utc = _now_minute(ctx).astimezone(UTC) + timedelta(minutes=spec.minutes)
        start = utc.astimezone(ctx.zone)
        _check_mode(ctx, start, True)
        return When(start=start, has_time=True)
    day = _resolve_date(ctx, spec) if spec is not None else None
    clock = expr.clock
    if clock is None:
        assert day is not None
        start = _at(ctx, day, time())
        _check_mode(ctx, start, False)
        return When(start=start, has_time=False)
    if clock.midnight:
        if day is None:
            day = ctx.today + timedelta(days=-1 if ctx.past else 1)
            clock = _Clock(0, 0)
        else:
            raise DateError(
                "dates.ambiguous",
                text=ctx.text,
                readings=[_date_params(day, time(0, 0)), _date_params(day, time(23, 59))],
            )
    t = _clock_time(ctx, clock)
    if day is None:
        # a time alone is the next such time (the last one, for something done)
        day = ctx.today
        if ctx.past and _at(ctx, day, t) > ctx.now:
            day -= timedelta(days=1)
        elif not ctx.past and _at(ctx, day, t) < _now_minute(ctx):
            day += timedelta(days=1)
    start = _at(ctx, day, t)
    end = None
    if expr.end is not None:
        end_t = _clock_time(ctx, expr.end)
        if end_t <= t:
            raise DateError("dates.bad_range", text=ctx.text)
        end = _at(ctx, day, end_t)
    _check_mode(ctx, start, True)
    return When(start=start, has_time=True, end=end)


# --------------------------------------------------------------------------- fallback


@lru_cache(maxsize=32)
def _fallback_parser(languages: tuple[str, ...], past: bool, base: datetime) -> Any:
    # imported here: dateparser loads its language data on first use
    from dateparser import DateDataParser

    settings = {
        "PREFER_DATES_FROM": "past" if past else "future",
        "DATE_ORDER": "DMY" if languages[0] == "fr" else "MDY",
        "RELATIVE_BASE": base,
        "RETURN_AS_TIMEZONE_AWARE": False,
        # TIMEZONE stays unset: with it, a time less than an hour ahead moves to tomorrow
    }
    return DateDataParser(languages=list(languages), use_given_order=True, settings=settings)


def _fallback(ctx: _Context, toks: Sequence[_Tok]) -> When | None:
    """What dateparser reads in a text the grammar does not, kept only when it agrees with
    every part of the text (``_agrees``); None otherwise."""
    if not 3 <= len(ctx.text) <= 80 or len(toks) < 2:
        return None  # "a", "sun", "may" alone are no date; a paragraph is not one either
    if not _may_be_a_date(toks):
        return None  # a word or a number no date holds: not worth asking dateparser
    languages = ("fr", "en") if ctx.lang == "fr" else ("en", "fr")
    base = _now_minute(ctx).replace(tzinfo=None)
    data = _fallback_parser(languages, ctx.past, base).get_date_data(ctx.text)
    found: datetime | None = data["date_obj"]
    parts = tuple(data["parts"] or ())
    if found is None or data["period"] not in ("day", "week", "time") or "day" not in parts:
        return None
    if found.tzinfo is not None:
        found = found.astimezone(ctx.zone).replace(tzinfo=None)
    has_time = "time" in parts
    if not _agrees(toks, found, has_time):
        logger.debug("date %r: the fallback's %s drops or contradicts a part", ctx.text, found)
        return None
    logger.debug("date %r read by the fallback parser as %s", ctx.text, found)
    start = _at(
        ctx, found.date(), found.time().replace(second=0, microsecond=0) if has_time else time()
    )
    _check_mode(ctx, start, has_time)
    return When(start=start, has_time=has_time)


# Words that say a time was meant: the answer must have one, in the part of the day said.
_TIME_WORDS = frozenset(
    _words(
        "h heure heures am pm midi noon midday minuit midnight matin mat soir apres aprem morning"
        " afternoon evening night tonight clock quarter half demi demie quart minute minutes min"
        " mins mn hour hours hr hrs"
    )
)
_HOUR_MARKS = frozenset(_words("h heure heures"))
_AT_WORDS = frozenset(_words("a at @ vers around about"))
_PART_WORDS = {
    **dict.fromkeys(("matin", "mat", "morning"), 9),
    **dict.fromkeys(("apres", "aprem", "afternoon"), 14),
    **dict.fromkeys(("soir", "evening"), 18),
    **dict.fromkeys(("night", "tonight"), 20),
}
# Two dates to choose from, a recurrence, or a date counted from another ("after
# tomorrow": tomorrow or the day after?): dateparser would return one date of them.
_NO_FALLBACK = frozenset(
    _words("ou or every each chaque tous toutes les weekly daily monthly after apres since depuis")
)
_UNIT_WORDS = frozenset(_UNIT.words())
_SIGN_WORDS = frozenset(_words("dans in within sous ici ago from later tard il"))
_NUMBER_WORDS = frozenset((_COUNT_WORDS.words() | _HOUR_WORDS.words()) - {"a", "an", "of"})


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Every word of Coordo's date vocabulary, and the few more dateparser is asked for."""
    words: set[str] = {"t", "z", "utc"}
    for value in globals().values():
        if isinstance(value, _Phrases):
            words |= value.words()
    return frozenset(words)


def _may_be_a_date(toks: Sequence[_Tok]) -> bool:
    """Whether a text holds only date words, and numbers that can be parts of a date."""
    known = _known_words()
    texts = [tok.text for tok in toks]
    for k in range(len(toks) - 2):
        if (
            toks[k].kind == toks[k + 2].kind == "num"
            and texts[k + 1] == "-"
            and not (k + 4 < len(toks) and texts[k + 3] == "-")
            and not (k >= 2 and texts[k - 1] == "-")
        ):
            return False  # "thursday 2-4": hours from 2 to 4, not 4 February
    for k, tok in enumerate(toks):
        after = toks[k + 1].text if k + 1 < len(toks) else None
        if tok.kind == "word":
            if tok.text not in known or tok.text in _NO_FALLBACK:
                return False
            if tok.text in _NUMBER_WORDS and after not in _UNIT_WORDS:
                return False  # "deux trois", "one two": numbers, not a date
        elif tok.kind == "num":
            before = toks[k - 1] if k else None
            if (
                tok.glued
                and before is not None
                and before.kind == "word"
                and not (before.text in ("h", "t") and k > 1 and toks[k - 2].kind == "num")
            ):
                return False  # "A4", "T2", "S50": a code; "14h30", "15T14:00" are times
            if before is not None and before.text in _UNIT_WORDS:
                return False  # "semaine 50", "week 50": a number, not a date
        elif tok.text not in ":/.-,":
            return False  # "15%", "$12", "H+2"
    if texts[-1] in _DANGLING or texts[0] in _DANGLING_FIRST:
        return False  # "samedi à", "demain dans", "en vendredi": something is missing
    for k, tok in enumerate(toks):
        word_before = texts[k - 1] if k else None
        word_after = texts[k + 1] if k + 1 < len(toks) else None
        if tok.text in _UNIT_WORDS and not (
            k
            and (
                toks[k - 1].kind == "num" or word_before in _NUMBER_WORDS or word_before in _A_WORDS
            )
        ):
            return False  # "semaines demain": a unit counts nothing
        if tok.text in ("am", "pm") and not (k and toks[k - 1].kind == "num"):
            return False  # "a pm of"
        if tok.kind == "num" and not _placed(toks, k, word_before, word_after):
            return False  # "3 15", "10 30", "15 2027": numbers, not a date
    counted = any(
        tok.kind in ("num", "word") and k + 1 < len(toks) and toks[k + 1].text in _UNIT_WORDS
        for k, tok in enumerate(toks)
    )
    # "5 min": five minutes from when?
    return not counted or any(tok.text in _SIGN_WORDS for tok in toks)


_DANGLING = frozenset(
    [
        *_words("a at en dans in le la les l du de d the of on by for pour avant vers et and"),
        *_words("to from @ , - / : ."),
    ]
)
_DANGLING_FIRST = frozenset(_words("en of the du de d la les l et and , - / : ."))
_A_WORDS = frozenset(_words("a an un une"))
_NUMBER_SIGNS = frozenset(":/.-")
_NUMBER_SUFFIXES = frozenset(_ORDINAL_SUFFIXES | {"h", "am", "pm", "t"})


def _placed(toks: Sequence[_Tok], k: int, before: str | None, after: str | None) -> bool:
    """Whether a number has a place in a date: part of 15/12, 14:30 or 2026-12-15, with a
    suffix (15th, 14h, 3pm), a count of a unit, next to a month or a weekday, or a year
    with a month named."""
    tok = toks[k]
    if after in _NUMBER_SIGNS and k + 1 < len(toks) and toks[k + 1].glued:
        return True
    if before in _NUMBER_SIGNS and tok.glued:
        return True
    if after in _NUMBER_SUFFIXES or after in _UNIT_WORDS:
        return True
    neighbours = [t for t in (k - 1, k + 1) if 0 <= t < len(toks)]
    if any(_MONTH_SHORT.match(toks, t) or _WEEKDAY.match(toks, t) for t in neighbours):
        return True
    if before in ("le", "the", "du"):
        return True
    if len(tok.text) == 4:
        return any(_MONTH_SHORT.match(toks, t) for t in range(len(toks)))
    return False


def _each_its_own(numbers: list[set[str]], need: set[str]) -> bool:
    """Whether each number can be a different part of the answer, the parts in ``need``
    among them (a small matching)."""

    def assign(k: int, taken: frozenset[str]) -> bool:
        if k == len(numbers):
            return need <= taken
        return any(assign(k + 1, taken | {part}) for part in numbers[k] - taken)

    return len(numbers) <= 6 and assign(0, frozenset())


def _anchors(toks: Sequence[_Tok]) -> int:
    """How many days the text names by a relative word or a weekday ("demain", "friday")."""
    count = 0
    for k in range(len(toks)):
        if _REL_DAY.match(toks, k) or _TODAY_PART.match(toks, k) or _WEEKDAY.match(toks, k):
            count += 1
    return count


def _agrees(toks: Sequence[_Tok], found: datetime, has_time: bool) -> bool:
    """Whether an answer keeps every part of the text: each weekday and month named, each
    number (a day, month, year, hour, minute or a count), the time said and its part of
    the day; and whether it adds no time that was not said."""
    texts = [tok.text for tok in toks]
    said_time = (
        any(t in _TIME_WORDS for t in texts)
        or any(
            0 < k < len(toks) - 1
            and toks[k + 1].kind == "num"
            and (
                (t == ":" and toks[k - 1].kind == "num")  # "14:30"
                or t in _AT_WORDS  # "at 10 30", "à 9", "vers 15"
            )
            for k, t in enumerate(texts)
        )
        or (len(toks) > 1 and texts[0] in _AT_WORDS and toks[1].kind == "num")
    )
    if said_time != has_time:
        return False
    signed = any(t in _SIGN_WORDS for t in texts)
    if _anchors(toks) > 1:
        return False  # "tomorrow tonight", "demain vendredi": which one?
    numbers: list[set[str]] = []  # for each number typed, the parts of the answer it can be
    for k, tok in enumerate(toks):
        after = texts[k + 1] if k + 1 < len(toks) else None
        if tok.kind != "num" or (after in _UNIT_WORDS and (after not in _HOUR_MARKS or signed)):
            continue  # not a number, or a count ("3 jours", "dans 2h")
        number = int(tok.text)
        if after in _HOUR_MARKS and found.hour != number:
            return False  # "14h": the hour is 14
        if after in ("am", "pm") and found.hour != number % 12 + (12 if after == "pm" else 0):
            return False  # "2pm": the hour is 14
        parts = {
            name for name, value in (("month", found.month), ("day", found.day)) if value == number
        }
        if len(tok.text) == 4 and number == found.year:
            parts.add("year")
        if k and texts[k - 1] in "/.-" and tok.glued and number == found.year % 100:
            parts.add("year")  # "15/12/26"
        if has_time:
            if number in (found.hour, found.hour % 12 or 12):
                parts.add("hour")
            if number == found.minute:
                parts.add("minute")
            if number == found.second:
                parts.add("second")
        numbers.append(parts)
    month_named = any(_MONTH.match(toks, k) for k in range(len(toks)))
    if not _each_its_own(numbers, need={"day"} if month_named else set()):
        # a number the answer has no place for, two numbers for one part, or a month
        # named without its day ("a december")
        return False
    if any(t in _PART_WORDS for t in texts) and "hour" not in set().union(*numbers):
        return False  # "evening of 2 january": Coordo's hour for a part of the day is its own
    for k, tok in enumerate(toks):
        weekday = _WEEKDAY_SHORT.match(toks, k)
        month = _MONTH_SHORT.match(toks, k)
        if weekday and weekday[0] != found.weekday() and not (month and month[0] == found.month):
            return False
        if month and month[0] != found.month and not (weekday and weekday[0] == found.weekday()):
            return False
        if has_time and tok.text in _PART_WORDS:
            low, high = _PART_HOURS[_PART_WORDS[tok.text]]
            if not low <= found.hour <= high:
                return False
    if has_time and "pm" in texts and found.hour < 12:
        return False
    return not (has_time and "am" in texts and found.hour >= 12)


def _read_part(doc: _Text, grammar: _Grammar) -> tuple[str, str] | None:
    """The longest part of the text the grammar reads, and the rest, for a refusal that says
    what was read ("je lis « samedi 16 », mais pas « vers l'aube »")."""
    best: tuple[int, int] | None = None
    for i in range(len(doc.toks)):
        hit = grammar.expression(i)
        if hit and (best is None or hit[1] - i > best[1] - best[0]):
            best = i, hit[1]
    if best is None:
        return None
    a, b = doc.span(*best)
    rest = _rest(doc.text, a, b)
    return (doc.text[a:b], rest) if rest else None


# --------------------------------------------------------------------------- entry points


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _context(text: str, now: datetime, lang: str, tz: str, mode: Mode) -> _Context:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if mode not in ("deadline", "done", "any"):
        raise ValueError(f"unknown mode {mode!r}")
    zone = _zone(tz)
    return _Context(text, now.astimezone(zone), zone, normalise_locale(lang), mode)


def parse_when(
    text: str,
    *,
    now: datetime,
    lang: str = "fr",
    tz: str = "Europe/Paris",
    mode: Mode = "deadline",
) -> When:
    """Read ``text``, which is all date, as of ``now``.

    ``mode``: "deadline" (a deadline or a meeting: today or later), "done" (the date of
    something done, such as an expense: today or earlier) or "any".
    """
    stripped = text.strip()
    ctx = _context(stripped, now, lang, tz, mode)
    doc = _Text(stripped)
    if not doc.toks:
        raise DateError("dates.unparseable", text=stripped)
    grammar = _Grammar(doc.toks, whole=True, lang=ctx.lang)
    hit = grammar.expression(0)
    if hit and hit[1] == len(doc.toks):
        return _resolve(ctx, hit[0])
    if len(doc.toks) <= 2 and _MONTH.match(doc.toks, 0):
        raise DateError("dates.imprecise", text=stripped)  # "mars", "march 2027"
    when = _fallback(ctx, doc.toks)
    if when is not None:
        return when
    read = _read_part(doc, grammar)
    if read is not None:
        raise DateError("dates.partial", text=stripped, read=read[0], unread=read[1])
    raise DateError("dates.unparseable", text=stripped)


def find_when(
    text: str,
    *,
    now: datetime,
    lang: str = "fr",
    tz: str = "Europe/Paris",
    mode: Mode = "deadline",
    prefer: Prefer = "end",
) -> tuple[When, str]:
    """Find the date expression inside ``text``; return it and the rest of the text.

    "Lancer l'appel à projets vendredi prochain" -> (vendredi prochain, "Lancer l'appel à
    projets"). The longest run of words that reads as a date wins; one that touches the
    end of the text (``prefer="end"``, for milestone titles) or its start
    (``prefer="start"``, for ``/copil <when> …``) wins over one in the middle. Two
    different dates with nothing to choose between them raise ``dates.ambiguous``.
    """
    ctx = _context(text, now, lang, tz, mode)
    doc = _Text(text)
    grammar = _Grammar(doc.toks, lang=ctx.lang)
    spans: list[tuple[int, int, _Expr]] = []
    reach = 0
    for i, tok in enumerate(doc.toks):
        if not _may_start(tok) or _inside_word(doc.toks, i):
            continue
        hit = grammar.expression(i)
        if hit is None or hit[1] <= reach or _inside_word(doc.toks, hit[1]):
            continue  # nothing, inside a longer span found before, or cutting a word
        spans.append((i, hit[1], hit[0]))
        reach = hit[1]
    if not spans:
        raise DateError("dates.missing", text=text.strip())
    n = len(doc.toks)
    edge = [s for s in spans if (s[1] == n if prefer == "end" else s[0] == 0)]
    if edge:
        chosen = edge[0]
    else:
        longest = max(j - i for i, j, _ in spans)
        tied = [s for s in spans if s[1] - s[0] == longest]
        chosen = tied[-1] if prefer == "end" else tied[0]
        if len(tied) > 1:
            _refuse_two_dates(ctx, doc, tied)
    i, j, expr = chosen
    a, b = doc.span(i, j)
    phrase = text[a:b]
    when = _resolve(_Context(phrase, ctx.now, ctx.zone, ctx.lang, ctx.mode), expr)
    return when, _rest(text, a, b)


def _inside_word(toks: Sequence[_Tok], i: int) -> bool:
    """Whether a span starting (or ending) at token ``i`` would cut a word such as "T2" or "2e"."""
    if not 0 < i < len(toks):
        return False
    return toks[i].glued and toks[i].kind != "sym" and toks[i - 1].kind != "sym"


def _refuse_two_dates(ctx: _Context, doc: _Text, spans: list[tuple[int, int, _Expr]]) -> None:
    readings: list[When] = []
    for i, j, expr in spans:
        a, b = doc.span(i, j)
        try:
            readings.append(
                _resolve(_Context(doc.text[a:b], ctx.now, ctx.zone, ctx.lang, "any"), expr)
            )
        except DateError:
            continue
    if len(set(readings)) > 1:
        raise DateError(
            "dates.ambiguous",
            text=doc.text.strip(),
            readings=[
                _date_params(w.start.date(), w.start.time() if w.has_time else None)
                for w in readings
            ],
        )


_LEFT_STRIP = " \t\n,;:-–—"
_RIGHT_STRIP = " \t\n,;:-–—.!?"


def _rest(text: str, a: int, b: int) -> str:
    left = text[:a].rstrip(_LEFT_STRIP)
    right = text[b:].lstrip(_RIGHT_STRIP)
    if left and right:
        return f"{left} {right}"
    return (left or right).strip()
