"""A person's dashboard: their milestones, their next meetings and, for coordinators,
every experiment's budget burn and what is late.

Platform-neutral: ``show`` returns a ``Reply`` (text and sections), which Slack publishes
as the App Home tab (``app_home_opened``) and any adapter can post as a message. It runs
as the button action ``home.show`` through ``Router.act``, so it gets the same
one-transaction context as a command, and a "refresh" button on the view works as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, or_, select

from commands.core import Context, Router
from commands.reply import Button, Field, Reply, Section
from commands.services.experiments import Overview, overview
from commands.services.meetings import Occurrence, occurrences_between
from models import Experiment, Invitation, Meeting, Milestone, MilestoneOwner, Role

ACTION = "home.show"
MILESTONES_SHOWN = 10
MEETINGS_SHOWN = 5
MEETINGS_HORIZON = timedelta(days=45)
LATE_SHOWN = 3


@dataclass(frozen=True)
class Home:
    milestones: list[tuple[Milestone, Experiment]]
    meetings: list[tuple[Occurrence, Experiment | None]]
    # For the experiments the person coordinates: each one's figures (budget shown only
    # where the person may see it).
    coordinated: list[tuple[Overview, bool]]


def build(ctx: Context) -> Home:
    experiments = {e.id: e for e in ctx.visible_experiments()}
    ids = list(experiments)
    milestones = ctx.session.exec(
        select(Milestone)
        .join(MilestoneOwner, col(MilestoneOwner.milestone_id) == Milestone.id)
        .where(
            MilestoneOwner.person_id == ctx.person_id,
            col(MilestoneOwner.removed_at).is_(None),
            col(Milestone.experiment_id).in_(ids),
            Milestone.status == "open",
            col(Milestone.deleted_at).is_(None),
        )
        .order_by(col(Milestone.due_on), col(Milestone.id))
        .limit(MILESTONES_SHOWN)
    ).all()
    invited = select(Invitation.meeting_id).where(
        Invitation.person_id == ctx.person_id,
        col(Invitation.deleted_at).is_(None),
        Invitation.response != "no",
    )
    horizon = ctx.now + MEETINGS_HORIZON
    # Meetings in the window, and recurring series whose later sittings may fall in it.
    candidates = ctx.session.exec(
        select(Meeting).where(
            Meeting.workspace_id == ctx.workspace_id,
            Meeting.status == "scheduled",
            col(Meeting.deleted_at).is_(None),
            Meeting.starts_at < horizon,
            or_(Meeting.starts_at >= ctx.now, col(Meeting.rrule).is_not(None)),
            or_(
                col(Meeting.id).in_(invited),
                col(Meeting.series_id).in_(invited),
                col(Meeting.experiment_id).in_(ids),
                # The lab's own steering committee, for the lab's coordinators.
                col(Meeting.experiment_id).is_(None) & ctx.is_lab_coordinator,
            ),
        )
    ).all()
    sittings = occurrences_between(ctx.session, candidates, ctx.now, horizon)[:MEETINGS_SHOWN]
    coordinated = [
        (overview(ctx, e), ctx.can_see_budget(e))
        for e in experiments.values()
        if ctx.role_in(e) == Role.COORDINATOR
    ]
    return Home(
        milestones=[(m, experiments[m.experiment_id]) for m in milestones],
        meetings=[
            (o, experiments.get(o.meeting.experiment_id) if o.meeting.experiment_id else None)
            for o in sittings
        ],
        coordinated=coordinated,
    )


def show(ctx: Context, value: str = "") -> Reply:
    home = build(ctx)
    today = ctx.now.astimezone(ZoneInfo(ctx.tz())).date()
    sections = [
        Section(
            title=ctx.message("home.my_milestones"),
            text=ctx.render("home/milestones", milestones=home.milestones, today=today),
        ),
        Section(
            title=ctx.message("home.my_meetings"),
            text=ctx.render("home/meetings", meetings=home.meetings),
        ),
    ]
    if home.coordinated:
        sections.append(Section(title=ctx.message("home.experiments")))
    for o, see_budget in home.coordinated:
        e = o.experiment
        fields = [Field(ctx.message("home.late"), ctx.render("home/late", o=o, experiment=e))]
        if see_budget:
            fields.insert(0, Field(ctx.message("home.budget"), ctx.render("home/burn", o=o)))
        sections.append(Section(text=ctx.render("home/experiment", e=e), fields=tuple(fields)))
    return Reply(
        text=ctx.render("home/home", person=ctx.person, today=today),
        sections=sections,
        buttons=[Button(ctx.message("home.refresh"), ACTION, "")],
    )


def register(router: Router) -> None:
    router.add_action(ACTION, show)
