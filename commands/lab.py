"""``/labo`` (``/lab``): experiments and the people in them, settings, undo, help."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from commands import reminders as reminder_commands
from commands.args import Args, fold
from commands.core import Context, Family, Router, Subcommand, find_person, words
from commands.dates import parse_when
from commands.errors import NotFound, UserError
from commands.meeting_undo import after_undo
from commands.money import parse_amount
from commands.narration import Narrator
from commands.reply import Reply, Visibility
from commands.services import audit
from commands.services import experiments as service
from models import AuditEvent, Experiment, Role

ROLE_WORDS = {
    "coordinateur": Role.COORDINATOR,
    "coordinatrice": Role.COORDINATOR,
    "coordination": Role.COORDINATOR,
    "coordinator": Role.COORDINATOR,
    "membre": Role.MEMBER,
    "member": Role.MEMBER,
    "partenaire": Role.PARTNER,
    "partner": Role.PARTNER,
}
YES = {"oui", "yes", "true", "1", "on", "o", "y"}
NO = {"non", "no", "false", "0", "off", "n"}

CREATE_OPTIONS = {
    "territoire": "territory",
    "territory": "territory",
    "debut": "start",
    "start": "start",
    "fin": "end",
    "end": "end",
    "budget": "budget",
    "nom": "name",
    "name": "name",
}
SETTINGS_OPTIONS = {
    **CREATE_OPTIONS,
    "langue": "locale",
    "locale": "locale",
    "language": "locale",
    "fuseau": "timezone",
    "timezone": "timezone",
    "budget-partenaires": "partners_budget",
    "partners-budget": "partners_budget",
    "plafond": "limit",
    "limit": "limit",
}
BIND_OPTIONS = {"partage": "shared", "shared": "shared"}


def parse_day(ctx: Context, text: str) -> date:
    """A calendar day for an experiment's start or end: ``01/09/2026``, ``1er septembre``…"""
    return parse_when(text, now=ctx.now, lang=ctx.locale, tz=ctx.tz(), mode="any").date()


def parse_flag(text: str) -> bool:
    folded = fold(text)
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise UserError("lab.bad_flag", text=text)


def parse_role(text: str) -> Role:
    try:
        return ROLE_WORDS[fold(text)]
    except KeyError:
        raise UserError("lab.bad_role", text=text) from None


def help_(ctx: Context, args: Args) -> Reply:
    return ctx.reply("help/help", lab_coordinator=ctx.is_lab_coordinator)


def list_(ctx: Context, args: Args) -> Reply:
    experiments = ctx.visible_experiments()
    binding = ctx.channel_binding
    return ctx.reply(
        "lab/list",
        experiments=[(e, ctx.role_in(e)) for e in experiments],
        bound_id=binding.experiment_id if binding else None,
    )


def show(ctx: Context, args: Args) -> Reply:
    experiment = (
        ctx.experiment_by_slug(args.words[0], include_archived=True)
        if args.words
        else ctx.experiment(args, include_archived=True)
    )
    data = service.overview(ctx, experiment)
    return ctx.reply(
        "lab/show",
        experiment,
        o=data,
        role=ctx.role_in(experiment),
        see_budget=ctx.can_see_budget(experiment),
        today=ctx.now.date(),
    )


def create(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("lab.create_usage")
    slug, *rest = args.words
    name = args.option("name") or " ".join(rest)
    envelope = args.option("budget")
    experiment = service.create_experiment(
        ctx,
        slug=slug,
        name=name,
        territory=args.option("territory") or "",
        starts_on=parse_day(ctx, s) if (s := args.option("start")) else None,
        ends_on=parse_day(ctx, e) if (e := args.option("end")) else None,
        envelope_cents=parse_amount(envelope).cents if envelope else None,
    )
    return ctx.reply(
        "lab/created",
        experiment,
        e=experiment,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
    )


def bind(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("lab.bind_usage")
    experiment = ctx.experiment_by_slug(args.words[0])
    shared = args.option("shared")
    binding = service.bind_channel(ctx, experiment, parse_flag(shared) if shared else None)
    return ctx.reply(
        "lab/bound",
        experiment,
        e=experiment,
        shared=binding.is_shared,
        channel=ctx.invocation.channel.name,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
    )


def unbind(ctx: Context, args: Args) -> Reply:
    experiment = service.unbind_channel(ctx)
    return ctx.reply("lab/unbound", experiment, e=experiment, changed=True, undo=True)


def archive(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("lab.archive_usage")
    experiment = ctx.experiment_by_slug(args.words[0])
    service.archive(ctx, experiment)
    return ctx.reply("lab/archived", experiment, e=experiment, changed=True, undo=True)


def role(ctx: Context, args: Args) -> Reply:
    if not args.mentions or not args.words:
        raise UserError("lab.role_usage")
    role_ = parse_role(args.words[-1])
    experiment = ctx.experiment(args)
    changed = []
    for mention in args.mentions:
        person = find_person(ctx, mention.name, mention.user_id)
        service.set_role(ctx, experiment, person, role_)
        changed.append(person)
    return ctx.reply(
        "lab/role_set",
        experiment,
        e=experiment,
        people=changed,
        role=role_,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
    )


def remove(ctx: Context, args: Args) -> Reply:
    if not args.mentions:
        raise UserError("lab.remove_usage")
    experiment = ctx.experiment(args)
    people = []
    for mention in args.mentions:
        person = find_person(ctx, mention.name, mention.user_id)
        service.remove_member(ctx, experiment, person)
        people.append(person)
    return ctx.reply(
        "lab/removed", experiment, e=experiment, people=people, changed=True, undo=True
    )


def team(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    return ctx.reply("lab/team", experiment, e=experiment, team=service.team(ctx, experiment))


def settings(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    if not args.options.keys() - {"experiment"}:
        ctx.require(experiment, Role.COORDINATOR)
        return ctx.reply("lab/settings", experiment, e=experiment)
    flag = args.option("partners_budget")
    envelope = args.option("budget")
    limit = args.option("limit")
    changes = service.update_settings(
        ctx,
        experiment,
        locale=fold(v) if (v := args.option("locale")) else None,
        timezone=args.option("timezone"),
        partners_see_budget=parse_flag(flag) if flag else None,
        name=args.option("name"),
        territory=args.option("territory"),
        starts_on=parse_day(ctx, s) if (s := args.option("start")) else None,
        ends_on=parse_day(ctx, e) if (e := args.option("end")) else None,
        envelope_cents=parse_amount(envelope).cents if envelope else None,
        expense_limit_cents=parse_amount(limit).cents if limit else None,
    )
    told = Narrator(ctx.session, ctx.locale, experiment.timezone).changes(
        Experiment, ((c.name, c.before, c.after) for c in changes), experiment.currency
    )
    return ctx.reply(
        "lab/settings_changed", experiment, e=experiment, told=told, changed=True, undo=True
    )


def language(ctx: Context, args: Args) -> Reply:
    if not args.words:
        raise UserError("lab.language_usage")
    locale = fold(args.words[0])[:2]
    service.set_personal_locale(ctx, locale)
    ctx.locale = locale
    return ctx.reply("lab/language_set", changed=True)


def undo(ctx: Context, args: Args) -> Reply:
    """Undo the person's last change (in the experiment named, if one is)."""
    experiment_id = None
    if args.option("experiment"):
        experiment_id = ctx.experiment(args).id
    batch = (
        args.words[0]
        if args.words
        else audit.last_batch(ctx.session, ctx.workspace_id, ctx.person_id, experiment_id)
    )
    return undo_batch(ctx, batch)


def undo_batch(ctx: Context, batch: str | None) -> Reply:
    """Shared by every family's ``annuler``/``undo`` and the undo button."""
    if batch is None:
        raise NotFound("core.nothing_to_undo")
    events = audit.undo_batch(
        ctx.session,
        batch=batch,
        workspace_id=ctx.workspace_id,
        actor_id=ctx.person_id,
        may_undo_others=ctx.is_lab_coordinator,
        now=ctx.now,
        new_batch=ctx.batch,
    )
    told = Narrator(ctx.session, ctx.locale, ctx.tz()).undone(events)
    reply = ctx.reply("lab/undone", told=told, changed=True)
    after_undo(ctx, events, reply)
    return reply


def history(ctx: Context, args: Args) -> Reply:
    experiment = ctx.experiment(args)
    ctx.require(experiment, Role.COORDINATOR)
    events = list(
        ctx.session.exec(
            select(AuditEvent)
            .where(AuditEvent.experiment_id == experiment.id)
            .order_by(col(AuditEvent.id).desc())
            .limit(20)
        )
    )
    narrator = Narrator(ctx.session, ctx.locale, experiment.timezone)
    lines = [(e, narrator.sentence(e)) for e in events]
    return ctx.reply("lab/history", experiment, e=experiment, lines=lines)


def undo_action(ctx: Context, batch: str) -> Reply:
    """The undo button under a reply: reverts that command's changes."""
    return undo_batch(ctx, batch)


def register(router: Router) -> None:
    router.add_action("undo", undo_action)
    router.add(
        Family(
            name="lab",
            words={"labo": "fr", "lab": "en", "coordo": ""},
            subcommands=(
                Subcommand("help", words(["aide"], ["help"], ["?"]), help_),
                Subcommand("list", words(["liste"], ["list"]), list_),
                Subcommand("show", words(["voir"], ["show"]), show),
                Subcommand(
                    "create", words(["creer", "créer"], ["create", "new"]), create, CREATE_OPTIONS
                ),
                Subcommand("bind", words(["lier"], ["bind"]), bind, BIND_OPTIONS),
                Subcommand("unbind", words(["delier", "délier"], ["unbind"]), unbind),
                Subcommand("archive", words(["archiver"], ["archive"]), archive),
                Subcommand("role", words([], [], ["role", "rôle"]), role),
                Subcommand("remove", words(["retirer"], ["remove"]), remove),
                Subcommand("team", words(["equipe", "équipe"], ["team"]), team),
                Subcommand(
                    "settings",
                    words(["reglages", "réglages"], ["settings"]),
                    settings,
                    SETTINGS_OPTIONS,
                ),
                Subcommand("language", words(["langue"], ["language"]), language),
                Subcommand("undo", words(["annuler"], ["undo"]), undo),
                Subcommand("history", words(["historique"], ["history"]), history),
                Subcommand(
                    "reminders",
                    words(["rappels"], ["reminders"]),
                    reminder_commands.reminders,
                    reminder_commands.OPTIONS,
                ),
                Subcommand("digest", words([], [], ["digest"]), reminder_commands.digest),
            ),
            empty=Subcommand("help", {}, help_),
        )
    )
