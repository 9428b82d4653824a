"""``/labo rappels`` (``/lab reminders``) and ``/labo digest`` (``/lab digest``): each
person's reminder preferences per experiment, the team's reminder settings
(coordinators), and a preview of the weekly digest. Subcommands of the ``lab`` family.

- ``/labo rappels`` — what you get, when, and how to change it;
- ``/labo rappels mp:non`` / ``dm:no`` — no direct messages for this experiment
  (``mp:oui`` / ``dm:yes`` to have them back);
- ``/labo rappels pause 2 semaines`` / ``mute 2 weeks`` (or ``3j``, ``48h``, a date),
  ``/labo rappels reprendre`` / ``resume``;
- coordinators: ``delais:7,1,0`` / ``lead:7,1,0`` (days before a deadline),
  ``jours:lun-ven`` / ``days:mon-fri``, ``heures:9h-18h`` / ``hours:9-18``,
  ``digest:lundi-9h`` / ``digest:monday-9am``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from sqlmodel import col, select

from commands.args import Args, fold
from commands.core import Context
from commands.dates import DateError, parse_when
from commands.errors import PermissionDenied, UserError
from commands.messages import normalise_locale
from commands.render import babel_locale, date_words, message
from commands.reply import Reply, Visibility
from commands.services import audit, charts, digests, outbox, scan
from models import ChannelBinding, Experiment, NotificationPreference, Role, Workspace

OPTIONS = {
    "mp": "dm",
    "dm": "dm",
    "delais": "lead",
    "lead": "lead",
    "jours": "days",
    "days": "days",
    "heures": "hours",
    "hours": "hours",
    "digest": "digest",
}
MUTE_WORDS = {"pause", "sourdine", "mute", "snooze"}
RESUME_WORDS = {"reprendre", "reprise", "resume", "unmute"}
# How routine reminders come: gathered in one summary a day, or each at once. "résumé" is
# French for summary; in English "resume" is taken by RESUME_WORDS.
SUMMARY_WORDS = {"summary", "daily", "quotidien"}
SUMMARY_WORDS_FR = {"resume", "résumé"}
NOW_WORDS = {"tout-de-suite", "toutdesuite", "immediatement", "immediately", "now", "each"}
YES = {"oui", "yes", "o", "y", "on", "1", "true"}
NO = {"non", "no", "n", "off", "0", "false"}
NONE_WORDS = {"aucun", "aucune", "none", "non", "no"}
LAB_WORDS = {"labo", "lab"}

# Day names by their first three letters (accents and case folded), French and English.
DAY_WORDS = {
    "lun": 1,
    "mon": 1,
    "mar": 2,
    "tue": 2,
    "mer": 3,
    "wed": 3,
    "jeu": 4,
    "thu": 4,
    "ven": 5,
    "fri": 5,
    "sam": 6,
    "sat": 6,
    "dim": 7,
    "sun": 7,
}
_CLOCK = re.compile(r"(\d{1,2})(?:(?:h|:)(\d{2})?)?\s*(am|pm)?")
_DURATION = re.compile(
    r"(\d+)\s*(j|jours?|d|days?|s|sem|semaines?|w|wk|weeks?|h|heures?|hours?|mois|months?)"
)
_UNTIL = re.compile(r"^(jusqu'?\s*(au|a|à)|until|till|au)\s+", re.IGNORECASE)
_MAX_MUTE = timedelta(days=366)


@dataclass(frozen=True)
class Change:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


# -- parsing ----------------------------------------------------------------------------


def parse_day(word: str) -> int:
    """``lundi``, ``Mon``, ``1`` → ISO weekday number."""
    folded = fold(word.strip())
    if folded.isdigit() and 1 <= int(folded) <= 7:
        return int(folded)
    number = DAY_WORDS.get(folded[:3])
    if number is None or len(folded) < 3:
        raise ValueError(word)
    return number


def parse_days(text: str) -> list[int]:
    """``lun-ven``, ``mon,wed,fri``, ``1-5``, ``dim-jeu`` → sorted ISO weekday numbers."""
    days: set[int] = set()
    try:
        for part in text.split(","):
            if not part.strip():
                continue
            if "-" in part:
                first, last = (parse_day(p) for p in part.split("-", 1))
                day = first
                while True:
                    days.add(day)
                    if day == last:
                        break
                    day = day % 7 + 1
            else:
                days.add(parse_day(part))
    except ValueError:
        raise UserError("reminders.bad_days", text=text) from None
    if not days:
        raise UserError("reminders.bad_days", text=text)
    return sorted(days)


def parse_clock(text: str) -> time:
    """``9h``, ``9h30``, ``17:45``, ``9``, ``2pm`` → a time of day."""
    m = _CLOCK.fullmatch(fold(text.strip()))
    if not m:
        raise ValueError(text)
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    elif m.group(3) == "am" and hour == 12:
        hour = 0
    return time(hour, minute)


def parse_hours(text: str) -> tuple[time, time]:
    """``9h-18h``, ``8h30-17h``, ``9-18``, ``9:00-18:00`` → (start, end)."""
    try:
        first, last = text.split("-", 1)
        start, end = parse_clock(first), parse_clock(last)
    except ValueError:
        raise UserError("reminders.bad_hours", text=text) from None
    if end <= start:
        raise UserError("reminders.bad_hours", text=text)
    return start, end


def parse_leads(text: str) -> list[int]:
    """``7,1,0`` (``7j,1j``, ``aucun``) → days before a deadline, largest first."""
    if fold(text.strip()) in NONE_WORDS:
        return []
    leads: set[int] = set()
    for part in text.split(","):
        part = fold(part.strip()).rstrip("jd")
        if not part:
            continue
        if not part.isdigit() or int(part) > scan.MAX_LEAD_DAYS:
            raise UserError("reminders.bad_lead", text=text)
        leads.add(int(part))
    if not leads:
        raise UserError("reminders.bad_lead", text=text)
    return sorted(leads, reverse=True)


def parse_digest(text: str) -> tuple[int, time]:
    """``lundi-9h``, ``monday 9am``, ``ven-16h30`` → (ISO weekday, time)."""
    parts = [p for p in re.split(r"[\s\-@]+|\ba\b|\bat\b", fold(text)) if p]
    if len(parts) != 2:
        raise UserError("reminders.bad_digest", text=text)
    try:
        return parse_day(parts[0]), parse_clock(parts[1])
    except ValueError:
        raise UserError("reminders.bad_digest", text=text) from None


def parse_mute(words: list[str], now: datetime, tz: str, locale: str) -> datetime:
    """How long to mute: a span (``2 semaines``, ``3j``, ``48h``, ``1 week``) or a date
    (``15/12``, ``jusqu'au 15 décembre``, ``until friday``: until that day begins, or
    that time when one is given)."""
    text = " ".join(words).strip()
    folded = fold(text)
    if not folded:
        raise UserError("reminders.mute_usage")
    if m := _DURATION.fullmatch(folded):
        amount, unit = int(m.group(1)), m.group(2)
        if unit[0] in "jd":
            span = timedelta(days=amount)
        elif unit[0] in "sw":
            span = timedelta(weeks=amount)
        elif unit[0] == "h":
            span = timedelta(hours=amount)
        else:
            span = timedelta(days=30 * amount)
        if span <= timedelta(0) or span > _MAX_MUTE:
            raise UserError("reminders.bad_duration", text=text)
        return now + span
    date_text = _UNTIL.sub("", text).strip()
    try:
        when = parse_when(date_text, now=now, lang=locale, tz=tz, mode="deadline")
    except DateError:
        raise UserError("reminders.bad_duration", text=text) from None
    if when.rrule is not None or when.start - now > _MAX_MUTE:
        raise UserError("reminders.bad_duration", text=text)
    until = when.start if when.has_time else datetime.combine(when.date(), time(0), ZoneInfo(tz))
    if until <= now:
        raise UserError("reminders.past_date", day=until.date().isoformat())
    return until


def parse_flag(text: str) -> bool:
    folded = fold(text)
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise UserError("lab.bad_flag", text=text)


# -- words people read ------------------------------------------------------------------


def day_name(number: int, locale: str) -> str:
    names = get_day_names("wide", locale=babel_locale(locale))
    return str(names[number - 1])


def days_text(days: list[int], locale: str) -> str:
    return ", ".join(day_name(d, locale) for d in days)


def leads_text(leads: list[int], locale: str) -> str:
    if not leads:
        return message("reminders.lead_none", locale)
    return ", ".join(
        message("reminders.lead_same_day", locale)
        if n == 0
        else message("reminders.lead_days", locale, n=n)
        for n in leads
    )


def clock_text(value: time) -> str:
    return value.strftime("%H:%M")


# -- /labo rappels ----------------------------------------------------------------------


def reminders(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    role = ctx.require(experiment, Role.COORDINATOR, Role.MEMBER, Role.PARTNER)
    changes: list[Change] = []
    preference = _preference(ctx, experiment)
    before = audit.snapshot(preference) if preference.id is not None else None
    words = list(args.words)
    if words:
        first = fold(words[0])
        if first in MUTE_WORDS:
            until = parse_mute(words[1:], ctx.now, experiment.timezone, ctx.locale)
            preference.muted_until = until
            changes.append(
                Change("muted", {"until": date_words(until, ctx.locale, experiment.timezone)})
            )
        elif first in NOW_WORDS | SUMMARY_WORDS or (first in SUMMARY_WORDS_FR and _french(ctx)):
            set_daily_summary(ctx, first not in NOW_WORDS)
            changes.append(Change("summary_on" if first not in NOW_WORDS else "summary_off"))
        elif first in RESUME_WORDS and len(words) == 1:
            if preference.muted_until is None or preference.muted_until <= ctx.now:
                raise UserError("reminders.not_muted", experiment=experiment.name)
            preference.muted_until = None
            changes.append(Change("unmuted"))
        else:
            raise UserError("reminders.unknown_word", word=words[0])
    if (dm := args.option("dm")) is not None:
        preference.direct_messages = parse_flag(dm)
        changes.append(Change("dm_on" if preference.direct_messages else "dm_off"))
    if any(c.name not in ("summary_on", "summary_off") for c in changes):
        ctx.record(
            "update" if before else "create", preference, before, experiment_id=experiment.id
        )
    team = _team_settings(ctx, experiment, args, role)
    changes.extend(team)
    if not changes:
        if args.options.keys() - {"experiment"}:
            raise UserError("reminders.nothing")
        return show_preferences(ctx, experiment, preference, role)
    return ctx.reply(
        "reminders/preferences_changed",
        experiment,
        e=experiment,
        changes=changes,
        changed=True,
        undo=True,
    )


def _french(ctx: Context) -> bool:
    """Whether the command was typed in French (``/labo rappels``)."""
    return fold(ctx.invocation.text.split(" ", 1)[0]) == "rappels"


def set_daily_summary(ctx: Context, daily: bool) -> None:
    """The person's choice, for every experiment: a summary a day or each at once."""
    before = audit.snapshot(ctx.person)
    ctx.person.daily_summary = daily
    ctx.record("update", ctx.person, before)


def _preference(ctx: Context, experiment: Experiment) -> NotificationPreference:
    found = ctx.session.exec(
        select(NotificationPreference).where(
            NotificationPreference.person_id == ctx.person_id,
            NotificationPreference.experiment_id == experiment.id,
        )
    ).first()
    if found is not None:
        return found
    assert experiment.id is not None
    return NotificationPreference(person_id=ctx.person_id, experiment_id=experiment.id)


def _team_settings(ctx: Context, experiment: Experiment, args: Args, role: Role) -> list[Change]:
    """Coordinators' settings of the whole experiment's reminders."""
    lead, days, hours, digest = (args.option(n) for n in ("lead", "days", "hours", "digest"))
    if lead is None and days is None and hours is None and digest is None:
        return []
    if role != Role.COORDINATOR:
        raise PermissionDenied(
            "core.forbidden", experiment=experiment.name, role=role.value, needed=["coordinator"]
        )
    before = audit.snapshot(experiment)
    changes = []
    locale = ctx.locale
    if lead is not None:
        leads = parse_leads(lead)
        experiment.reminder_lead_days = ",".join(str(n) for n in leads)
        changes.append(Change("leads", {"leads": leads_text(leads, locale)}))
    if days is not None:
        numbers = parse_days(days)
        experiment.working_days = ",".join(str(n) for n in numbers)
        changes.append(Change("days", {"days": days_text(numbers, locale)}))
    if hours is not None:
        start, end = parse_hours(hours)
        experiment.working_hours_start, experiment.working_hours_end = start, end
        changes.append(Change("hours", {"start": clock_text(start), "end": clock_text(end)}))
    if digest is not None:
        weekday, at = parse_digest(digest)
        experiment.digest_weekday, experiment.digest_time = weekday, at
        changes.append(Change("digest", {"day": day_name(weekday, locale), "time": clock_text(at)}))
    ctx.record("update", experiment, before, experiment_id=experiment.id)
    return changes


def show_preferences(
    ctx: Context, experiment: Experiment, preference: NotificationPreference, role: Role
) -> Reply:
    channels = [
        f"~{name}"
        for name in ctx.session.exec(
            select(ChannelBinding.channel_name)
            .where(ChannelBinding.experiment_id == experiment.id)
            .order_by(col(ChannelBinding.id))
        )
        if name
    ]
    muted = preference.muted_until if (preference.muted_until or ctx.now) > ctx.now else None
    return ctx.reply(
        "reminders/preferences",
        experiment,
        e=experiment,
        dm=preference.direct_messages,
        daily_summary=ctx.person.daily_summary,
        muted_until=muted,
        leads=leads_text(scan.lead_days(experiment), ctx.locale),
        days=days_text(sorted(outbox.working_days(experiment)), ctx.locale),
        start=clock_text(experiment.working_hours_start),
        end=clock_text(experiment.working_hours_end),
        digest_day=day_name(min(7, max(1, experiment.digest_weekday)), ctx.locale),
        digest_time=clock_text(experiment.digest_time),
        channels=channels,
        coordinator=role == Role.COORDINATOR,
    )


# -- /labo digest -----------------------------------------------------------------------


def digest(ctx: Context, args: Args) -> Reply:
    """The digest as it would go out now, for the person who asks only."""
    if args.words and fold(args.words[0]) in LAB_WORDS and not args.option("experiment"):
        return _lab_preview(ctx)
    if args.words:
        raise UserError("digest.usage")
    experiment = ctx.experiment(args)
    role = ctx.require(experiment, Role.COORDINATOR, Role.MEMBER, Role.PARTNER)
    see_budget = ctx.can_see_budget(experiment)
    channel = _channel_of(ctx, experiment, shared=role == Role.PARTNER)
    moment = digests.digest_moment(experiment, ctx.now)
    if moment <= ctx.now:
        moment += timedelta(days=7)
    # What will go out then, as the database stands now: its week is the one before it.
    facts = digests.experiment_digest(ctx.session, experiment, moment)
    text = digests.render_experiment_digest(facts, ctx.locale, see_budget=see_budget)
    note = message(
        "digest.preview_note",
        ctx.locale,
        channel=channel or message("digest.no_channel", ctx.locale),
        when=date_words(moment, ctx.locale, experiment.timezone),
    )
    chart = charts.render_chart(digests.experiment_chart(facts, ctx.locale, see_budget=see_budget))
    return Reply(
        text=f"{note}\n\n{text}",
        visibility=Visibility.EPHEMERAL,
        files=[chart] if chart else [],
    )


def _lab_preview(ctx: Context) -> Reply:
    if not ctx.is_lab_coordinator:
        raise PermissionDenied("digest.lab_only")
    workspace: Workspace = ctx.workspace
    facts = digests.lab_digest(ctx.session, workspace, ctx.now)
    locale = normalise_locale(ctx.locale)
    sent = digests.lab_digest_reply(facts, locale)
    chart = charts.render_chart(digests.lab_chart(facts, locale))
    note = message("digest.preview_note_lab", locale)
    return Reply(
        text=f"{note}\n\n{sent.text}",
        visibility=Visibility.EPHEMERAL,
        files=[*sent.files, *([chart] if chart else [])],
    )


def _channel_of(ctx: Context, experiment: Experiment, *, shared: bool) -> str | None:
    """The channel whose digest the reader would see: the team's, or a shared one for a
    partner."""
    names = ctx.session.exec(
        select(ChannelBinding.channel_name, ChannelBinding.is_shared)
        .where(ChannelBinding.experiment_id == experiment.id)
        .order_by(col(ChannelBinding.id))
    ).all()
    for name, is_shared in names:
        if is_shared == shared and name:
            return f"~{name}"
    return f"~{names[0][0]}" if names else None
