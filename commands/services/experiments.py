"""Experiments and the people in them: create, bind channels, roles, settings, archive."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func
from sqlmodel import col, select

from commands.args import closest
from commands.core import Context
from commands.errors import UserError
from commands.services.audit import snapshot
from commands.services.budget import BudgetState
from commands.services.expenses import budget_state
from models import (
    ChannelBinding,
    Experiment,
    Meeting,
    Membership,
    Milestone,
    Person,
    Role,
    pk,
)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
NAME_LIMIT = 200


def create_experiment(
    ctx: Context,
    *,
    slug: str,
    name: str,
    territory: str,
    starts_on: date | None,
    ends_on: date | None,
    envelope_cents: int | None,
) -> Experiment:
    ctx.require_lab_coordinator()
    slug = slug.lower()
    if not SLUG.fullmatch(slug):
        raise UserError("lab.bad_slug", slug=slug)
    if not name.strip():
        raise UserError("lab.missing_name")
    if len(name) > NAME_LIMIT or len(territory) > NAME_LIMIT:
        raise UserError(
            "core.text_too_long", length=max(len(name), len(territory)), limit=NAME_LIMIT
        )
    if starts_on and ends_on and ends_on < starts_on:
        raise UserError("lab.end_before_start", start=starts_on, end=ends_on)
    taken = ctx.session.exec(
        select(Experiment.id).where(
            Experiment.workspace_id == ctx.workspace_id, Experiment.slug == slug
        )
    ).first()
    if taken is not None:
        raise UserError("lab.slug_taken", slug=slug)
    experiment = Experiment(
        workspace_id=ctx.workspace_id,
        slug=slug,
        name=name.strip(),
        territory=territory.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        budget_envelope_cents=envelope_cents,
        locale=ctx.workspace.locale,
        timezone=ctx.workspace.timezone,
        calendar_token=secrets.token_urlsafe(24),
        created_at=ctx.now,
    )
    ctx.record("create", experiment)
    experiment_id = experiment.id
    assert experiment_id is not None
    membership = Membership(
        experiment_id=experiment_id,
        person_id=ctx.person_id,
        role=Role.COORDINATOR,
        created_at=ctx.now,
    )
    ctx.record("create", membership, experiment_id=experiment_id)
    return experiment


def bind_channel(ctx: Context, experiment: Experiment, shared: bool | None) -> ChannelBinding:
    ctx.require(experiment, Role.COORDINATOR)
    channel = ctx.invocation.channel
    binding = ctx.channel_binding
    is_shared = channel.is_shared if shared is None else shared
    if binding is None:
        binding = ChannelBinding(
            workspace_id=ctx.workspace_id,
            channel_id=channel.external_id,
            channel_name=channel.name,
            experiment_id=pk(experiment),
            is_shared=is_shared,
            created_at=ctx.now,
        )
        ctx.record("bind", binding, experiment_id=experiment.id)
    else:
        before = snapshot(binding)
        binding.experiment_id = experiment.id  # type: ignore[assignment]
        binding.channel_name = channel.name or binding.channel_name
        binding.is_shared = is_shared
        ctx.record("bind", binding, before, experiment_id=experiment.id)
    return binding


def unbind_channel(ctx: Context) -> Experiment:
    binding = ctx.channel_binding
    if binding is None:
        raise UserError("lab.not_bound")
    experiment = ctx.session.get(Experiment, binding.experiment_id)
    assert experiment is not None
    ctx.require(experiment, Role.COORDINATOR)
    # The audit event keeps the binding; undo puts it back.
    ctx.record("unbind", binding, snapshot(binding), experiment_id=experiment.id)
    ctx.session.delete(binding)
    return experiment


def archive(ctx: Context, experiment: Experiment) -> None:
    ctx.require(experiment, Role.COORDINATOR)
    if experiment.archived_at is not None:
        raise UserError("lab.already_archived", slug=experiment.slug)
    before = snapshot(experiment)
    experiment.archived_at = ctx.now
    ctx.record("archive", experiment, before, experiment_id=experiment.id)


def set_role(ctx: Context, experiment: Experiment, person: Person, role: Role) -> Membership:
    ctx.require(experiment, Role.COORDINATOR)
    membership = ctx.session.exec(
        select(Membership).where(
            Membership.experiment_id == experiment.id, Membership.person_id == person.id
        )
    ).first()
    if membership is None:
        membership = Membership(
            experiment_id=experiment.id,  # type: ignore[arg-type]
            person_id=person.id,  # type: ignore[arg-type]
            role=role,
            created_at=ctx.now,
        )
        ctx.record("create", membership, experiment_id=experiment.id)
        return membership
    if membership.role == role and membership.removed_at is None:
        raise UserError("lab.role_unchanged", handle=person.handle, role=role.value)
    before = snapshot(membership)
    membership.role = role
    membership.removed_at = None
    ctx.record("update", membership, before, experiment_id=experiment.id)
    return membership


def remove_member(ctx: Context, experiment: Experiment, person: Person) -> Membership:
    ctx.require(experiment, Role.COORDINATOR)
    membership = ctx.session.exec(
        select(Membership).where(
            Membership.experiment_id == experiment.id,
            Membership.person_id == person.id,
            col(Membership.removed_at).is_(None),
        )
    ).first()
    if membership is None:
        raise UserError("lab.not_member", handle=person.handle, experiment=experiment.name)
    if membership.role == Role.COORDINATOR and _coordinator_count(ctx, experiment) == 1:
        raise UserError("lab.last_coordinator", handle=person.handle)
    before = snapshot(membership)
    membership.removed_at = ctx.now
    ctx.record("delete", membership, before, experiment_id=experiment.id)
    if experiment.calendar_token:
        # The calendar's shared address (from before personal ones) was known to the
        # person who leaves: it stops; the team's personal addresses go on.
        before = snapshot(experiment)
        experiment.calendar_token = None
        ctx.record("update", experiment, before, experiment_id=experiment.id)
    return membership


def _coordinator_count(ctx: Context, experiment: Experiment) -> int:
    return ctx.session.exec(
        select(func.count()).where(
            Membership.experiment_id == experiment.id,
            Membership.role == Role.COORDINATOR,
            col(Membership.removed_at).is_(None),
        )
    ).one()


@dataclass(frozen=True)
class SettingChange:
    name: str
    before: object
    after: object


def update_settings(
    ctx: Context,
    experiment: Experiment,
    *,
    locale: str | None = None,
    timezone: str | None = None,
    partners_see_budget: bool | None = None,
    name: str | None = None,
    territory: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    envelope_cents: int | None = None,
    expense_limit_cents: int | None = None,
) -> list[SettingChange]:
    ctx.require(experiment, Role.COORDINATOR)
    before = snapshot(experiment)
    changes: list[SettingChange] = []

    def change(field: str, value: object) -> None:
        old = getattr(experiment, field)
        if old != value:
            setattr(experiment, field, value)
            changes.append(SettingChange(field, old, value))

    if locale is not None:
        if locale not in ("fr", "en"):
            raise UserError("lab.bad_locale", value=locale)
        change("locale", locale)
    if timezone is not None:
        change("timezone", valid_timezone(timezone))
    if partners_see_budget is not None:
        change("partners_see_budget", partners_see_budget)
    if name is not None:
        if not name.strip() or len(name) > NAME_LIMIT:
            raise UserError("lab.missing_name")
        change("name", name.strip())
    if territory is not None:
        change("territory", territory.strip())
    if starts_on is not None:
        change("starts_on", starts_on)
    if ends_on is not None:
        change("ends_on", ends_on)
    if experiment.starts_on and experiment.ends_on and experiment.ends_on < experiment.starts_on:
        raise UserError("lab.end_before_start", start=experiment.starts_on, end=experiment.ends_on)
    if envelope_cents is not None:
        change("budget_envelope_cents", envelope_cents)
    if expense_limit_cents is not None:
        change("expense_limit_cents", expense_limit_cents)
    if not changes:
        raise UserError("lab.no_setting")
    ctx.record("update", experiment, before, experiment_id=experiment.id)
    return changes


def valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            "lab.bad_timezone",
            value=value,
            suggestion=closest(value, sorted(available_timezones())),
        ) from None
    return value


def set_personal_locale(ctx: Context, locale: str) -> None:
    if locale not in ("fr", "en"):
        raise UserError("lab.bad_locale", value=locale)
    before = snapshot(ctx.person)
    ctx.person.locale = locale
    ctx.record("update", ctx.person, before)


@dataclass(frozen=True)
class Overview:
    experiment: Experiment
    team: dict[str, list[Person]]
    planned_cents: int
    spent_cents: int
    budget: BudgetState
    open_milestones: int
    late_milestones: list[Milestone]
    next_milestones: list[Milestone]
    next_meeting: Meeting | None
    channels: list[str]


def team(ctx: Context, experiment: Experiment) -> dict[str, list[Person]]:
    """The people of an experiment by role (every role present, maybe empty)."""
    rows = ctx.session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(Membership.experiment_id == experiment.id, col(Membership.removed_at).is_(None))
        .order_by(col(Person.handle))
    ).all()
    by_role: dict[str, list[Person]] = {r.value: [] for r in Role}
    for membership, person in rows:
        by_role[membership.role].append(person)
    return by_role


def overview(ctx: Context, experiment: Experiment) -> Overview:
    session = ctx.session
    # The figures of ``/depense budget``: the same computation.
    state = budget_state(ctx, experiment)
    today = ctx.now.astimezone(ZoneInfo(experiment.timezone)).date()
    open_query = select(Milestone).where(
        Milestone.experiment_id == experiment.id,
        Milestone.status == "open",
        col(Milestone.deleted_at).is_(None),
    )
    open_milestones = list(session.exec(open_query.order_by(col(Milestone.due_on))))
    meeting = session.exec(
        select(Meeting)
        .where(
            Meeting.experiment_id == experiment.id,
            Meeting.starts_at >= ctx.now,
            Meeting.status == "scheduled",
            col(Meeting.deleted_at).is_(None),
        )
        .order_by(col(Meeting.starts_at))
        .limit(1)
    ).first()
    channels = list(
        session.exec(
            select(ChannelBinding.channel_name).where(ChannelBinding.experiment_id == experiment.id)
        )
    )
    return Overview(
        experiment=experiment,
        team=team(ctx, experiment),
        planned_cents=state.total.planned_cents,
        spent_cents=state.total.spent_cents,
        budget=state,
        open_milestones=len(open_milestones),
        late_milestones=[m for m in open_milestones if m.due_on < today],
        next_milestones=[m for m in open_milestones if m.due_on >= today][:3],
        next_meeting=meeting,
        channels=[c for c in channels if c],
    )
