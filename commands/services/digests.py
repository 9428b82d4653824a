"""Weekly digests: one per experiment to its channels, one lab-wide for the coordinators.

An experiment's digest goes to each channel bound to it at the experiment's digest
moment (``digest_weekday``, ISO 1 = Monday, at ``digest_time``, in its timezone; Monday
9:00 by default): the milestones done last week, due in the next two weeks and late;
the expenses of the week and the budget burn per line; the meetings of the next two
weeks with the state of their agenda. A shared channel (partners) gets the version
without budget figures unless the experiment opts in (``partners_see_budget``).

The lab-wide digest goes to each lab coordinator by direct message, Monday 9:00 in the
workspace's timezone: where each experiment stands, what is late, what is next.

Gathering digests takes a fixed number of queries whatever the experiments' size and
number (``EXPERIMENT_QUERIES``, ``LAB_QUERIES``): the 500 digests due on a Monday at 9:00
are gathered together, in as many queries as one. A digest
is good for a day (``VALID_FOR``): after a longer downtime it is dropped, not sent late.
The chart is drawn only when the message is sent (``commands.services.charts``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from commands.messages import normalise_locale
from commands.render import plain_message, render
from commands.reply import File, Reply
from commands.services import exports, ledger_sql, outbox
from commands.services.budget import BudgetState, compute
from commands.services.due import write_moments
from models import (
    AgendaItem,
    BudgetLine,
    ChannelBinding,
    Expense,
    Experiment,
    Meeting,
    Milestone,
    MilestoneOwner,
    Person,
    Role,
    Workspace,
    pk,
)

log = logging.getLogger(__name__)

VALID_FOR = timedelta(hours=24)
# "The next two weeks": today and the fourteen days after it.
AHEAD_DAYS = 14
LAB_DIGEST_WEEKDAY = 1
LAB_DIGEST_TIME = time(9, 0)
LIST_LIMIT = 10
# The experiments whose digests one scan pass gathers, writes and commits.
DIGESTS_PER_PASS = 250
# The lab digest lists every experiment up to this many; beyond, it is summarised.
STANDINGS_LISTED = 15
# The lab chart's bars: every experiment up to this many, else the largest budgets.
CHART_BARS = 15
EXPERIMENT_QUERIES = 8
LAB_QUERIES = 8


@dataclass(frozen=True)
class MilestoneItem:
    id: int
    experiment_id: int
    title: str
    due_on: date
    status: str
    progress: int
    owners: tuple[str, ...]
    late_days: int

    @property
    def owners_text(self) -> str:
        return ", ".join(f"@{handle}" for handle in self.owners)


@dataclass(frozen=True)
class LineRow:
    """A budget line as the digest reads it (what ``budget.compute`` needs of a line)."""

    id: int | None
    label: str
    planned_cents: int


def _budget_state(
    experiment: Experiment, lines: list[Any], spent: ledger_sql.ExperimentSpending, today: date
) -> BudgetState:
    """An experiment's budget as ``/depense budget`` computes it, from the batched rows."""
    return compute(
        envelope_cents=experiment.budget_envelope_cents,
        lines=[LineRow(line.id, line.label, line.planned_cents) for line in lines],
        by_line=spent.by_line,
        first_day=spent.first_day,
        starts_on=experiment.starts_on,
        ends_on=experiment.ends_on,
        today=today,
        counts_ht=spent.counts_ht,
    )


@dataclass(frozen=True)
class ExpenseItem:
    spent_on: date
    description: str
    amount: int
    line: str


@dataclass(frozen=True)
class MeetingItem:
    id: int
    experiment_id: int | None
    kind: str
    title: str
    starts_at: datetime
    place: str
    agenda_items: int


@dataclass
class ExperimentDigest:
    experiment: Experiment
    today: date
    since: date
    done: list[MilestoneItem]
    due_soon: list[MilestoneItem]
    late: list[MilestoneItem]
    expenses: list[ExpenseItem]
    budget: BudgetState
    meetings: list[MeetingItem]

    @property
    def until(self) -> date:
        """The last day of the week looked back on (yesterday)."""
        return self.today - timedelta(days=1)

    @property
    def expenses_total(self) -> int:
        return sum(e.amount for e in self.expenses)

    @property
    def unassigned(self) -> int:
        """Spent on no line (or on a line removed since)."""
        return self.budget.unallocated.spent_cents if self.budget.unallocated else 0

    @property
    def spent(self) -> int:
        return self.budget.total.spent_cents

    @property
    def planned(self) -> int:
        return self.budget.total.planned_cents


@dataclass
class ExperimentStanding:
    experiment: Experiment
    planned: int
    spent: int
    late: list[MilestoneItem] = field(default_factory=list)
    next: list[MilestoneItem] = field(default_factory=list)
    meetings: list[MeetingItem] = field(default_factory=list)
    # Committed (committed, service done, ordered) and not paid yet.
    committed_unpaid: int = 0
    counts_ht: bool = False


@dataclass
class LabDigest:
    workspace: Workspace
    today: date
    standings: list[ExperimentStanding]
    lab_meetings: list[MeetingItem]

    @property
    def late(self) -> list[tuple[Experiment, MilestoneItem]]:
        items = [(s.experiment, m) for s in self.standings for m in s.late]
        return sorted(items, key=lambda pair: pair[1].due_on)

    @property
    def next(self) -> list[tuple[Experiment, MilestoneItem]]:
        items = [(s.experiment, m) for s in self.standings for m in s.next]
        return sorted(items, key=lambda pair: pair[1].due_on)

    # A network of labs runs thousands of experiments: beyond ``STANDINGS_LISTED`` the
    # digest says the totals and the experiments to look at first, and every experiment
    # goes in a file (``lab_digest_csv``), one line each.
    @property
    def summarised(self) -> bool:
        return len(self.standings) > STANDINGS_LISTED

    @property
    def shown(self) -> list[ExperimentStanding]:
        """Every experiment, or, summarised, the ``LIST_LIMIT`` to look at first: the
        most late milestones, then the furthest over budget."""
        if not self.summarised:
            return self.standings
        return sorted(self.standings, key=_attention)[:LIST_LIMIT]

    @property
    def _in_euros(self) -> list[ExperimentStanding]:
        return [s for s in self.standings if s.experiment.currency == "EUR"]

    @property
    def spent_total(self) -> int:
        return sum(s.spent for s in self._in_euros)

    @property
    def planned_total(self) -> int:
        return sum(s.planned for s in self._in_euros)

    @property
    def other_currencies(self) -> int:
        return len(self.standings) - len(self._in_euros)

    @property
    def with_late(self) -> list[ExperimentStanding]:
        return [s for s in self.standings if s.late]

    @property
    def over_budget(self) -> list[ExperimentStanding]:
        return [s for s in self.standings if s.planned and s.spent > s.planned]


def _attention(s: ExperimentStanding) -> tuple[int, float, str]:
    over = s.spent / s.planned if s.planned else 0.0
    return (-len(s.late), -over, s.experiment.name)


# -- gathering --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    """The days an experiment's digest looks at, in its timezone."""

    today: date
    since: date
    since_moment: datetime
    horizon: date
    horizon_end: datetime

    @classmethod
    def of(cls, experiment: Experiment, now: datetime) -> _Period:
        tz = ZoneInfo(experiment.timezone)
        today = now.astimezone(tz).date()
        since = today - timedelta(days=7)
        horizon = today + timedelta(days=AHEAD_DAYS)
        return cls(
            today=today,
            since=since,
            since_moment=datetime.combine(since, time(0), tz),
            horizon=horizon,
            horizon_end=datetime.combine(horizon + timedelta(days=1), time(0), tz),
        )


# What a digest shows of a milestone (plain rows, no ORM objects: hundreds per digest).
MILESTONE_COLUMNS = (
    Milestone.id,
    Milestone.experiment_id,
    Milestone.title,
    Milestone.due_on,
    Milestone.status,
    Milestone.progress,
    Milestone.done_at,
)


def experiment_digest(session: Session, experiment: Experiment, now: datetime) -> ExperimentDigest:
    """The facts of one experiment's digest, in ``EXPERIMENT_QUERIES`` queries."""
    return experiment_digests(session, [experiment], now)[pk(experiment)]


def experiment_digests(
    session: Session, experiments: list[Experiment], now: datetime
) -> dict[int, ExperimentDigest]:
    """The facts of several experiments' digests, by experiment id, in
    ``EXPERIMENT_QUERIES`` queries for them all: each query reads the widest period of
    the experiments asked about, and each digest keeps what falls in its own."""
    if not experiments:
        return {}
    periods = {pk(e): _Period.of(e, now) for e in experiments}
    ids = list(periods)
    widest = _Period(
        today=max(p.today for p in periods.values()),
        since=min(p.since for p in periods.values()),
        since_moment=min(p.since_moment for p in periods.values()),
        horizon=max(p.horizon for p in periods.values()),
        horizon_end=max(p.horizon_end for p in periods.values()),
    )
    # 1. the milestones that matter this week
    milestones: list[Any] = session.exec(
        outbox.select_columns(*MILESTONE_COLUMNS)
        .where(
            col(Milestone.experiment_id).in_(ids),
            col(Milestone.deleted_at).is_(None),
            or_(
                and_(col(Milestone.status) == "open", col(Milestone.due_on) <= widest.horizon),
                and_(
                    col(Milestone.status) == "done",
                    col(Milestone.done_at) >= widest.since_moment,
                ),
            ),
        )
        .order_by(col(Milestone.due_on), col(Milestone.id))
    ).all()
    # 2. their owners
    owners = _owners(session, [m.id for m in milestones])
    # 3. the budget lines, 4.–5. what is counted per line (as ``/depense budget`` counts)
    lines: list[Any] = session.exec(
        outbox.select_columns(
            BudgetLine.id, BudgetLine.experiment_id, BudgetLine.label, BudgetLine.planned_cents
        )
        .where(col(BudgetLine.experiment_id).in_(ids), col(BudgetLine.deleted_at).is_(None))
        .order_by(col(BudgetLine.position), col(BudgetLine.id))
    ).all()
    spent = ledger_sql.spending(session, ids)
    # 6. the expenses of the week
    expenses: list[Any] = session.exec(
        outbox.select_columns(
            Expense.experiment_id,
            Expense.spent_on,
            Expense.description,
            Expense.amount_cents,
            Expense.budget_line_id,
        )
        .where(
            col(Expense.experiment_id).in_(ids),
            col(Expense.deleted_at).is_(None),
            Expense.spent_on >= widest.since,
            Expense.spent_on < widest.today,
        )
        .order_by(col(Expense.spent_on), col(Expense.id))
    ).all()
    # 7. the meetings of the next two weeks, 8. their agenda
    meetings = upcoming_meetings(
        session, [col(Meeting.experiment_id).in_(ids)], now, widest.horizon_end
    )

    lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in lines:
        lines_of[line.experiment_id].append(line)
    items_of: dict[int, list[MilestoneItem]] = defaultdict(list)
    for m in milestones:
        period = periods[m.experiment_id]
        if m.status == "open" and m.due_on > period.horizon:
            continue
        if m.status == "done" and (m.done_at is None or m.done_at < period.since_moment):
            continue
        items_of[m.experiment_id].append(_milestone_item(m, owners, period.today))
    expenses_of: dict[int, list[Any]] = defaultdict(list)
    for e in expenses:
        period = periods[e.experiment_id]
        if period.since <= e.spent_on < period.today:
            expenses_of[e.experiment_id].append(e)
    meetings_of: dict[int, list[MeetingItem]] = defaultdict(list)
    for meeting in meetings:
        experiment_id = meeting.experiment_id
        if experiment_id is not None and meeting.starts_at < periods[experiment_id].horizon_end:
            meetings_of[experiment_id].append(meeting)

    digests: dict[int, ExperimentDigest] = {}
    for experiment in experiments:
        experiment_id = pk(experiment)
        period = periods[experiment_id]
        own_lines = lines_of[experiment_id]
        labels = {line.id: line.label for line in own_lines}
        items = items_of[experiment_id]
        digests[experiment_id] = ExperimentDigest(
            experiment=experiment,
            today=period.today,
            since=period.since,
            done=[m for m in items if m.status == "done"],
            due_soon=[m for m in items if m.status == "open" and m.due_on >= period.today],
            late=[m for m in items if m.status == "open" and m.due_on < period.today],
            expenses=[
                ExpenseItem(
                    e.spent_on, e.description, e.amount_cents, labels.get(e.budget_line_id, "")
                )
                for e in expenses_of[experiment_id]
            ],
            budget=_budget_state(experiment, own_lines, spent[experiment_id], period.today),
            meetings=meetings_of[experiment_id],
        )
    return digests


def lab_digest(
    session: Session,
    workspace: Workspace,
    now: datetime,
    experiments: list[Experiment] | None = None,
) -> LabDigest:
    """Where each active experiment of ``workspace`` stands, in ``LAB_QUERIES`` queries
    (one fewer when the experiments are given)."""
    tz = ZoneInfo(workspace.timezone)
    today = now.astimezone(tz).date()
    horizon = today + timedelta(days=AHEAD_DAYS)
    horizon_end = datetime.combine(horizon + timedelta(days=1), time(0), tz)
    if experiments is None:
        # 1. the active experiments
        experiments = list(
            session.exec(
                select(Experiment)
                .where(
                    Experiment.workspace_id == workspace.id,
                    col(Experiment.archived_at).is_(None),
                )
                .order_by(col(Experiment.name))
            )
        )
    ids = [e.id for e in experiments]
    # 2. the budget lines, 3.–4. what is counted per line (as ``/depense budget`` counts)
    lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in session.exec(
        outbox.select_columns(
            BudgetLine.id, BudgetLine.experiment_id, BudgetLine.label, BudgetLine.planned_cents
        )
        .where(col(BudgetLine.experiment_id).in_(ids), col(BudgetLine.deleted_at).is_(None))
        .order_by(col(BudgetLine.position), col(BudgetLine.id))
    ).all():
        lines_of[line.experiment_id].append(line)
    spending = ledger_sql.spending(session, ids)
    states = {pk(e): _budget_state(e, lines_of[pk(e)], spending[pk(e)], today) for e in experiments}
    # 5. open milestones late or due within two weeks, 6. their owners
    milestones: list[Any] = session.exec(
        outbox.select_columns(*MILESTONE_COLUMNS)
        .where(
            col(Milestone.experiment_id).in_(ids),
            col(Milestone.deleted_at).is_(None),
            Milestone.status == "open",
            Milestone.due_on <= horizon,
        )
        .order_by(col(Milestone.due_on), col(Milestone.id))
    ).all()
    owners = _owners(session, [m.id for m in milestones])
    # 7. meetings of the next two weeks, the lab's own included (agenda: one more query)
    meetings = upcoming_meetings(
        session,
        [
            Meeting.workspace_id == workspace.id,
            or_(col(Meeting.experiment_id).in_(ids), col(Meeting.experiment_id).is_(None)),
        ],
        now,
        horizon_end,
    )
    standings = {
        e.id: ExperimentStanding(
            experiment=e,
            planned=states[pk(e)].total.planned_cents,
            spent=states[pk(e)].total.spent_cents,
            committed_unpaid=states[pk(e)].total.committed_cents,
            counts_ht=states[pk(e)].counts_ht,
        )
        for e in experiments
    }
    for m in milestones:
        item = _milestone_item(m, owners, today)
        standing = standings[m.experiment_id]
        (standing.late if item.due_on < today else standing.next).append(item)
    lab_meetings = []
    for meeting in meetings:
        if meeting.experiment_id in standings:
            standings[meeting.experiment_id].meetings.append(meeting)
        else:
            lab_meetings.append(meeting)
    return LabDigest(workspace, today, list(standings.values()), lab_meetings)


def _owners(session: Session, milestone_ids: list[int]) -> dict[int, list[str]]:
    owners: dict[int, list[str]] = defaultdict(list)
    for milestone_id, handle in session.exec(
        select(MilestoneOwner.milestone_id, Person.handle)
        .join(Person, col(Person.id) == MilestoneOwner.person_id)
        .where(
            col(MilestoneOwner.milestone_id).in_(milestone_ids),
            col(MilestoneOwner.removed_at).is_(None),
        )
        .order_by(col(Person.handle))
    ).all():
        owners[milestone_id].append(handle)
    return owners


def _milestone_item(row: Any, owners: dict[int, list[str]], today: date) -> MilestoneItem:
    return MilestoneItem(
        id=row.id,
        experiment_id=row.experiment_id,
        title=row.title,
        due_on=row.due_on,
        status=row.status,
        progress=row.progress,
        owners=tuple(owners.get(row.id, ())),
        late_days=max(0, (today - row.due_on).days),
    )


def upcoming_meetings(
    session: Session, where: list[Any], start: datetime, end: datetime
) -> list[MeetingItem]:
    """Meetings starting in [start, end): one-off meetings, occurrences of recurring
    series, and occurrences moved alone; cancelled ones left out. Two queries."""
    rows = list(
        session.exec(
            select(Meeting)
            .where(
                *where,
                col(Meeting.deleted_at).is_(None),
                or_(
                    col(Meeting.rrule).is_not(None),
                    and_(col(Meeting.starts_at) >= start, col(Meeting.starts_at) < end),
                    and_(
                        col(Meeting.recurrence_start) >= start,
                        col(Meeting.recurrence_start) < end,
                    ),
                ),
            )
            .order_by(col(Meeting.starts_at))
        )
    )
    agenda: dict[int | None, int] = dict(
        session.exec(
            select(AgendaItem.meeting_id, func.count())
            .where(
                col(AgendaItem.meeting_id).in_([m.id for m in rows]),
                col(AgendaItem.deleted_at).is_(None),
            )
            .group_by(col(AgendaItem.meeting_id))
        ).all()
    )
    replaced: dict[int | None, set[datetime]] = defaultdict(set)
    for m in rows:
        if m.series_id is not None and m.recurrence_start is not None:
            replaced[m.series_id].add(m.recurrence_start)
    items = []
    for m in rows:
        if m.status == "cancelled":
            continue
        starts: list[datetime] = []
        if m.rrule:
            first = m.starts_at.astimezone(ZoneInfo(m.timezone))
            try:
                rule = rrulestr(m.rrule, dtstart=first)
            except (ValueError, TypeError):
                log.warning("meeting %s has an unreadable rule %r", m.id, m.rrule)
                continue
            for occurrence in rule.between(start, end, inc=True):
                moment = occurrence.astimezone(first.tzinfo)
                if moment < end and moment not in replaced[m.id]:
                    starts.append(moment)
        elif start <= m.starts_at < end:
            starts.append(m.starts_at)
        for moment in starts:
            items.append(
                MeetingItem(
                    id=pk(m),
                    experiment_id=m.experiment_id,
                    kind=m.kind,
                    title=m.title,
                    starts_at=moment,
                    place=m.place,
                    agenda_items=int(agenda.get(m.id) or 0),
                )
            )
    return sorted(items, key=lambda item: item.starts_at)


# -- rendering --------------------------------------------------------------------------


def render_experiment_digest(digest: ExperimentDigest, locale: str, *, see_budget: bool) -> str:
    e = digest.experiment
    return render(
        "digest/experiment",
        locale,
        e.timezone,
        d=digest,
        e=e,
        see_budget=see_budget,
        limit=LIST_LIMIT,
    )


def experiment_chart(digest: ExperimentDigest, locale: str, *, see_budget: bool) -> dict[str, Any]:
    """What ``charts.render_chart`` draws: the burn per line (when the reader may see
    the budget) and the milestone timeline."""
    e = digest.experiment
    milestones = [*digest.done, *digest.late, *digest.due_soon]
    return {
        "locale": normalise_locale(locale),
        "title": e.name,
        "currency": e.currency,
        "today": digest.today.isoformat(),
        "lines": [
            [g.label or plain_message("digest.unallocated", locale), g.planned_cents, g.spent_cents]
            for g in digest.budget.rows
        ]
        if see_budget
        else [],
        "milestones": [
            [m.title, m.due_on.isoformat(), _state(m, digest.today)]
            for m in sorted(milestones, key=lambda m: m.due_on)
        ],
        "filename": f"digest-{e.slug}-{digest.today.isoformat()}"
        f"{'' if see_budget else '-partners'}.png",
    }


def render_lab_digest(digest: LabDigest, locale: str) -> str:
    return render("digest/lab", locale, digest.workspace.timezone, d=digest, limit=LIST_LIMIT)


def lab_chart(digest: LabDigest, locale: str) -> dict[str, Any]:
    """Every experiment's bar up to ``CHART_BARS``; beyond, the largest budgets only (a
    bar is a row of the picture: thousands would make it metres long)."""
    in_euros = [s for s in digest.standings if s.experiment.currency == "EUR"]
    largest = len(in_euros) > CHART_BARS
    if largest:
        in_euros = sorted(in_euros, key=lambda s: (-s.planned, s.experiment.name))[:CHART_BARS]
    return {
        "locale": normalise_locale(locale),
        "title": digest.workspace.name,
        # Its bars are experiments, not budget lines (the largest budgets, of many).
        "by": "largest" if largest else "experiment",
        "currency": "EUR",
        "today": digest.today.isoformat(),
        "lines": [[s.experiment.name, s.planned, s.spent] for s in in_euros],
        "milestones": [
            [f"{e.slug} · {m.title}", m.due_on.isoformat(), _state(m, digest.today)]
            for e, m in [*digest.late, *digest.next][:30]
        ],
        "filename": f"digest-lab-{digest.today.isoformat()}.png",
    }


LAB_CSV_COLUMNS = (
    "slug",
    "name",
    "currency",
    "spent",
    "planned",
    "share",
    "committed_unpaid",
    "late",
    "next",
    "next_on",
    "meeting",
    "meeting_on",
)


def lab_digest_csv(digest: LabDigest, locale: str) -> File:
    """Every experiment of the lab digest, one line each, in the export's convention for
    ``locale`` (``commands.services.exports``: ``;`` and decimal commas in French, a byte
    order mark; no text read as a formula)."""
    locale = normalise_locale(locale)
    tz = ZoneInfo(digest.workspace.timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if locale == "fr" else ",", lineterminator="\r\n")
    writer.writerow([plain_message(f"digest.csv_{c}", locale) for c in LAB_CSV_COLUMNS])
    for s in sorted(digest.standings, key=lambda s: s.experiment.name):
        e = s.experiment
        share = f"{round(100 * s.spent / s.planned)}" if s.planned else ""
        meeting = s.meetings[0] if s.meetings else None
        writer.writerow(
            [
                exports.safe_text(e.slug),
                exports.safe_text(e.name),
                e.currency,
                exports.amount_text(s.spent, locale),
                exports.amount_text(s.planned, locale),
                share,
                exports.amount_text(s.committed_unpaid, locale),
                len(s.late),
                exports.safe_text(s.next[0].title) if s.next else "",
                exports.day_text(s.next[0].due_on, locale) if s.next else "",
                exports.safe_text(meeting.title or meeting.kind.upper()) if meeting else "",
                exports.day_text(meeting.starts_at.astimezone(tz).date(), locale)
                if meeting
                else "",
            ]
        )
    return File(
        filename=f"point-labo-{digest.today.isoformat()}.csv"
        if locale == "fr"
        else f"lab-digest-{digest.today.isoformat()}.csv",
        content=buffer.getvalue().encode("utf-8-sig"),
        title=plain_message("digest.csv_title", locale, count=len(digest.standings)),
        mime_type="text/csv",
    )


def lab_digest_reply(digest: LabDigest, locale: str) -> Reply:
    """The lab digest's message, with the file of every experiment when it is summarised."""
    files = [lab_digest_csv(digest, locale)] if digest.summarised else []
    return Reply(text=render_lab_digest(digest, locale), files=files)


def _state(m: MilestoneItem, today: date) -> str:
    if m.status == "done":
        return "done"
    return "late" if m.due_on < today else "open"


# -- queueing ---------------------------------------------------------------------------


def digest_moment(experiment: Experiment, now: datetime) -> datetime:
    """This week's digest moment of the experiment (may be later than ``now``)."""
    tz = ZoneInfo(experiment.timezone)
    today = now.astimezone(tz).date()
    weekday = min(7, max(1, experiment.digest_weekday))
    day = today - timedelta(days=today.isoweekday() - weekday)
    return datetime.combine(day, experiment.digest_time, tz)


def lab_digest_moment(workspace: Workspace, now: datetime) -> datetime:
    tz = ZoneInfo(workspace.timezone)
    today = now.astimezone(tz).date()
    day = today - timedelta(days=today.isoweekday() - LAB_DIGEST_WEEKDAY)
    return datetime.combine(day, LAB_DIGEST_TIME, tz)


def next_digest_moment(experiment: Experiment, now: datetime) -> datetime:
    """The experiment's first digest moment after ``now``: this week's, or next week's
    (the same local day and time seven days on, whatever the clock change between)."""
    moment = digest_moment(experiment, now)
    if moment > now:
        return moment
    return datetime.combine(
        moment.date() + timedelta(days=7), experiment.digest_time, ZoneInfo(experiment.timezone)
    )


def digest_candidates(
    session: Session, now: datetime, limit: int | None = None
) -> list[Experiment]:
    """The active experiments whose digest's next moment has come (``digest_next_at``, by
    its index; ``models.due``): on a tick when no digest is due, none is read. On
    PostgreSQL the rows read are locked against writes (others are skipped: a command
    holds them, and the next tick takes them), so that a command's change of the digest
    settings is never overwritten by a moment worked out from the values before it; the
    lock lets rows referring to the experiment be written meanwhile. ``limit``: the
    first ones only (the longest due first), the others are left for another pass.

    A limited pass goes in the order of ``digest_next_at``, the index it reads by: so it
    walks only the rows due, whatever the planner believes. Ordered by id, PostgreSQL
    walked the primary key and read every experiment whenever its statistics said most
    were due, which they say from a Monday's pass (every row's moment rewritten) until
    the table is analysed again."""
    query = select(Experiment).where(
        col(Experiment.digest_next_at) <= now, col(Experiment.archived_at).is_(None)
    )
    if limit is not None:
        query = query.order_by(col(Experiment.digest_next_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, key_share=True)
    return list(session.exec(query))


_EXPERIMENT: Any = Experiment.__table__  # type: ignore[attr-defined]


def queue_digests(
    session: Session, now: datetime, experiments: dict[int | None, Experiment] | None = None
) -> tuple[int, int]:
    """Queue the digests whose moment has come (and is less than ``VALID_FOR`` ago);
    returns (experiment digests, lab digests) queued. Without ``experiments`` only those
    whose digest's next moment has come are loaded (``digest_candidates``), and each gets
    its next one written (a digest less than ``VALID_FOR`` late is queued now; one later
    than that is dropped, as before)."""
    queued, lab, _ = queue_digest_pass(session, now, experiments)
    return queued, lab


def queue_digest_pass(
    session: Session,
    now: datetime,
    experiments: dict[int | None, Experiment] | None = None,
    *,
    limit: int | None = None,
) -> tuple[int, int, bool]:
    """``queue_digests`` for ``limit`` experiments at most; the third value says whether
    more may be due (another pass, in a transaction of its own, takes them: on a Monday
    at 9:00 the first digests go while the others are written, and two workers' scans
    share them, each skipping the experiments the other holds)."""
    pool = digest_candidates(session, now, limit) if experiments is None else experiments.values()
    more = limit is not None and experiments is None and len(pool) >= limit
    due = {
        e.id: (e, moment)
        for e in pool
        if (moment := digest_moment(e, now)) <= now < moment + VALID_FOR
    }
    if experiments is None and pool:
        write_moments(
            session,
            _EXPERIMENT,
            "digest_next_at",
            {e.id: next_digest_moment(e, now) for e in pool},
        )
    queued = 0
    if due:
        bindings: list[Any] = session.exec(
            outbox.select_columns(
                ChannelBinding.experiment_id, ChannelBinding.channel_id, ChannelBinding.is_shared
            )
            .where(col(ChannelBinding.experiment_id).in_(list(due)))
            .order_by(col(ChannelBinding.id))
        ).all()
        wanted = [
            (
                f"digest:{b.experiment_id}:{due[b.experiment_id][1].date().isoformat()}:{b.channel_id}",
                b,
            )
            for b in bindings
        ]
        known = outbox.queued_keys(session, [key for key, _ in wanted])
        fresh: dict[int, list[Any]] = defaultdict(list)
        for key, binding in wanted:
            if key not in known:
                fresh[binding.experiment_id].append((key, binding))
        facts = experiment_digests(session, [due[i][0] for i in fresh], now)
        rows = []
        for experiment_id, targets in fresh.items():
            experiment, moment = due[experiment_id]
            digest = facts[experiment_id]
            for key, binding in targets:
                see_budget = not binding.is_shared or experiment.partners_see_budget
                rows.append(
                    outbox.notification(
                        key=key,
                        workspace_id=experiment.workspace_id,
                        kind="digest",
                        target_kind="channel",
                        target_id=binding.channel_id,
                        reply=Reply(
                            text=render_experiment_digest(
                                digest, experiment.locale, see_budget=see_budget
                            )
                        ),
                        not_before=moment,
                        experiment=experiment,
                        expires_at=moment + VALID_FOR,
                        quiet_hours=False,
                        chart=experiment_chart(digest, experiment.locale, see_budget=see_budget),
                    )
                )
        # In one statement per few hundred rows, not one per digest.
        for i in range(0, len(rows), 500):
            queued += outbox.enqueue_many(session, rows[i : i + 500])
    return queued, queue_lab_digests(session, now, experiments), more


def queue_lab_digests(
    session: Session, now: datetime, experiments: dict[int | None, Experiment] | None = None
) -> int:
    """The lab-wide digests of the workspaces having active experiments. Without
    ``experiments``, a workspace's experiments are loaded only when one of its digests is
    to be queued."""
    by_workspace: dict[int, list[Experiment]] = defaultdict(list)
    if experiments is None:
        # By workspace, through the index on the experiments' workspace: not every one.
        active = (
            select(Experiment.id)
            .where(Experiment.workspace_id == Workspace.id, col(Experiment.archived_at).is_(None))
            .correlate(Workspace)
            .exists()
        )
        ids = session.exec(select(Workspace.id).where(active)).all()
    else:
        for e in experiments.values():
            by_workspace[e.workspace_id].append(e)
        ids = list(by_workspace)
    if not ids:
        return 0
    workspaces = list(session.exec(select(Workspace).where(col(Workspace.id).in_(list(ids)))))
    due = [
        (w, moment)
        for w in workspaces
        if (moment := lab_digest_moment(w, now)) <= now < moment + VALID_FOR
    ]
    if not due:
        return 0
    coordinators = session.exec(
        select(Person).where(
            col(Person.workspace_id).in_([w.id for w, _ in due]),
            Person.lab_role == Role.COORDINATOR,
        )
    )
    by_ws: dict[int, list[Person]] = defaultdict(list)
    for person in coordinators:
        by_ws[person.workspace_id].append(person)
    wanted = [
        (f"lab-digest:{w.id}:{moment.date().isoformat()}:p{p.id}", w, moment, p)
        for w, moment in due
        for p in by_ws.get(w.id or 0, [])
    ]
    known = outbox.queued_keys(session, [key for key, *_ in wanted])
    queued = 0
    digests: dict[int, LabDigest] = {}
    for key, workspace, moment, person in wanted:
        if key in known:
            continue
        assert workspace.id is not None
        if workspace.id not in digests:
            pool = by_workspace[workspace.id] if experiments is not None else None
            if pool is None:
                pool = list(
                    session.exec(
                        select(Experiment).where(
                            Experiment.workspace_id == workspace.id,
                            col(Experiment.archived_at).is_(None),
                        )
                    )
                )
            ordered = sorted(pool, key=lambda e: e.name)
            digests[workspace.id] = lab_digest(session, workspace, now, ordered)
        digest = digests[workspace.id]
        locale = normalise_locale(person.locale or workspace.locale)
        queued += outbox.enqueue(
            session,
            key=key,
            workspace_id=workspace.id,
            kind="lab_digest",
            target_kind="person",
            target_id=str(person.id),
            reply=lab_digest_reply(digest, locale),
            not_before=moment,
            expires_at=moment + VALID_FOR,
            quiet_hours=False,
            chart=lab_chart(digest, locale),
        )
    return queued
