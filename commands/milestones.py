"""``/jalon`` (``/milestone``): the plan of each experiment, written like a chat message.

``/jalon Lancer l'appel à projets vendredi prochain @marie`` finds the date in the text
(``commands.dates.find_when``); ``pour:<when>`` / ``due:<when>`` names it explicitly, and
``resp:@karim`` / ``owner:@karim`` the owner. Every reply says what was understood: the
title, the full date in words, the owners and the experiment, with an undo button.

A title may begin with a subcommand's word ("Supprimer les doublons vendredi"): when such
a word is not followed by a milestone number, the whole text is read as a new milestone
if it holds a date, and the subcommand's usage is shown otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from dateutil.relativedelta import relativedelta

from commands.args import Args, Mention, fold, mention_from_text, parse_args, tokenize
from commands.core import (
    EXPERIMENT_OPTIONS,
    Context,
    Family,
    Router,
    Subcommand,
    find_person,
    words,
)
from commands.dates import DateError, When, find_when, parse_when
from commands.errors import UserError
from commands.lab import undo_batch
from commands.render import message
from commands.reply import Button, Form, FormField, Reply, Visibility
from commands.services import audit
from commands.services import milestones as service
from commands.services.milestones import Deadline
from models import Experiment, Milestone, Person, pk

CREATE_OPTIONS = {
    "pour": "due",
    "due": "due",
    "echeance": "due",
    "deadline": "due",
    "resp": "owner",
    "responsable": "owner",
    "owner": "owner",
}
LIST_OPTIONS = {**CREATE_OPTIONS, "statut": "status", "status": "status"}
_DUE_KEYS = {fold(k) for k, v in CREATE_OPTIONS.items() if v == "due"}

STATUS_WORDS = {
    "en-cours": "open",
    "encours": "open",
    "ouverts": "open",
    "ouvert": "open",
    "open": "open",
    "retard": "late",
    "en-retard": "late",
    "retards": "late",
    "late": "late",
    "overdue": "late",
    "fait": "done",
    "faits": "done",
    "termines": "done",
    "done": "done",
    "tous": "all",
    "tout": "all",
    "all": "all",
}
MINE_WORDS = {"mes", "miens", "moi", "mine", "my", "me"}
LIST_LIMIT = 30

_ID = re.compile(r"(?:#|n°|no\.?|n)?(\d{1,9})")
_PERCENT = re.compile(r"(-?\d+(?:[.,]\d+)?)\s*%?")
_SHIFT = re.compile(
    r"(?:(?:de|d'|by|of)\s*)?\+?\s*(\d{1,3}|une?|a|an|one)\s*"
    r"(j|jours?|d|days?|sem|semaines?|w|wk|weeks?|mois|months?)"
)
_CONNECTORS = {"au", "a", "pour", "vers", "to", "until", "till", "->", "→"}
_OPTION_LIKE = re.compile(r"[^\W\d_][\w\-]*:.*", re.DOTALL)
_STOP = re.compile(r"(?:@|<@|<#|~)\S*")


# -- reading what people type ---------------------------------------------------------------


def parse_id(word: str) -> int | None:
    """``12``, ``#12``, ``n°12`` → 12; anything else → None."""
    m = _ID.fullmatch(fold(word))
    return int(m.group(1)) if m else None


def parse_percent(text: str) -> int:
    m = _PERCENT.fullmatch(text.strip())
    if not m or not m.group(1).lstrip("-").isdigit():
        raise UserError("milestones.bad_progress", text=text)
    return service.check_percent(int(m.group(1)))


def _split_due(text: str) -> tuple[str, list[str] | None]:
    """Take ``pour:<when>`` out of ``text``: the value runs over the following words up to
    the next option or mention (``pour:15 janvier resp:@karim``). Returns the text left and
    the words of the date, or None when there is no such option."""
    tokens = tokenize(text)
    for i, (token, quoted) in enumerate(tokens):
        key, colon, value = token.partition(":")
        if not colon or fold(key) not in _DUE_KEYS or not _OPTION_LIKE.fullmatch(token):
            continue
        segment = value.split() if not quoted else [value.strip()]
        j = i + 1
        if not quoted:
            while j < len(tokens) and not tokens[j][1] and not _stops(tokens[j][0]):
                segment.append(tokens[j][0])
                j += 1
        return _join(tokens[:i] + tokens[j:]), [w for w in segment if w]
    return text, None


def _stops(token: str) -> bool:
    return bool(_OPTION_LIKE.fullmatch(token) or _STOP.fullmatch(token))


def _join(tokens: list[tuple[str, bool]]) -> str:
    def quote(token: str) -> str:
        return f"«{token}»" if '"' in token else f'"{token}"'

    return " ".join(quote(t) if quoted else t for t, quoted in tokens)


def _read_due(ctx: Context, experiment: Experiment, segment: list[str]) -> tuple[When, str]:
    """The date of ``pour:``: the longest run of its words that reads as a date; the
    words after it go back to the title. A date that reads but cannot be (31/02, past)
    is refused at once rather than shortened into another date."""
    if not segment:
        raise UserError("milestones.missing_due")
    text = " ".join(segment)
    try:
        when, rest = find_when(
            text,
            now=ctx.now,
            lang=ctx.locale,
            tz=experiment.timezone,
            mode="deadline",
            prefer="start",
        )
        if text.endswith(rest):  # the date opens the value: what follows is title
            return when, rest
    except DateError as e:
        if e.key != "dates.missing":
            raise
    # What Coordo's grammar does not read, the general parser may (parse_when).
    error: DateError | None = None
    for k in range(len(segment), 0, -1):
        try:
            return _parse(ctx, experiment, " ".join(segment[:k])), " ".join(segment[k:])
        except DateError as e:
            if e.key != "dates.unparseable":
                raise
            error = e
    assert error is not None
    raise error


def _parse(ctx: Context, experiment: Experiment, text: str) -> When:
    return parse_when(text, now=ctx.now, lang=ctx.locale, tz=experiment.timezone, mode="deadline")


def _deadline(when: When, text: str) -> Deadline:
    if when.rrule:
        raise UserError("milestones.recurrence", text=text)
    return Deadline(when.start.date(), when.start if when.has_time else None)


def _people(ctx: Context, args: Args) -> list[Person]:
    """The people named: mentions anywhere, and ``resp:@karim,@marie``."""
    mentions = list(args.mentions)
    for value in re.split(r"[,\s]+", args.option("owner") or ""):
        if value:
            mentions.append(mention_from_text(value) or Mention(None, value.lstrip("@")))
    return [find_person(ctx, m.name, m.user_id) for m in mentions]


def _named_experiment(ctx: Context, args: Args) -> Experiment | None:
    """The experiment the command names (``expe:``) or the channel is bound to, if any."""
    if args.option("experiment") or ctx.channel_binding is not None:
        return ctx.experiment(args)
    return None


# -- creating -------------------------------------------------------------------------------


def create(ctx: Context, args: Args) -> Reply:
    return _create_from_text(ctx, ctx.invocation.text)


def _create_from_text(ctx: Context, text: str) -> Reply:
    rest, due_words = _split_due(text)
    args = parse_args(rest, {**EXPERIMENT_OPTIONS, **CREATE_OPTIONS})
    if due_words is not None and args.option("due") is not None:
        raise UserError("core.duplicate_option", option="pour")
    experiment = ctx.experiment(args)
    ctx.require(experiment, *service.EDITORS)
    owners = _people(ctx, args)
    words_text = args.text
    if len(words_text) > service.TITLE_LIMIT * 2:
        raise UserError(
            "milestones.title_too_long", length=len(words_text), limit=service.TITLE_LIMIT
        )
    if due_words is not None:
        when, leftover = _read_due(ctx, experiment, due_words)
        title = f"{words_text} {leftover}".strip()
        due_text = " ".join(due_words)
    else:
        if not words_text.strip():
            raise UserError("milestones.missing_title")
        when, title = find_when(
            words_text,
            now=ctx.now,
            lang=ctx.locale,
            tz=experiment.timezone,
            mode="deadline",
            prefer="end",
        )
        due_text = words_text
    deadline = _deadline(when, due_text)
    milestone, people = service.create(
        ctx, experiment, title=title, deadline=deadline, owners=owners
    )
    return _created_reply(ctx, milestone, experiment, people)


def _created_reply(
    ctx: Context, milestone: Milestone, experiment: Experiment, owners: list[Person]
) -> Reply:
    return ctx.reply(
        "milestone/created",
        experiment,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=True,
        m=milestone,
        e=experiment,
        owners=owners,
        by_default=owners == [ctx.person],
        **_due_context(ctx, milestone, experiment),
    )


def _due_context(ctx: Context, milestone: Milestone, experiment: Experiment) -> dict[str, object]:
    return {
        "due": milestone.due_at or milestone.due_on,
        "days": (milestone.due_on - service.today_in(experiment, ctx.now)).days,
        "slipped": (milestone.due_on - milestone.original_due_on).days,
    }


def _fallback(ctx: Context, usage: str, **params: object) -> Reply:
    """The subcommand's word begins a title ("Supprimer les doublons vendredi")."""
    try:
        return _create_from_text(ctx, ctx.invocation.text)
    except DateError as error:
        if error.key == "dates.missing":
            raise UserError(usage, **params) from None
        raise


# -- listing --------------------------------------------------------------------------------


def list_(ctx: Context, args: Args) -> Reply:
    status = "open"
    people: list[Person] = []
    unknown: list[str] = []
    for word in args.words:
        folded = fold(word)
        if folded in STATUS_WORDS:
            status = STATUS_WORDS[folded]
        elif folded in MINE_WORDS:
            people.append(ctx.person)
        else:
            unknown.append(word)
    if unknown:
        return _fallback(ctx, "milestones.bad_filter", text=" ".join(unknown))
    if (typed := args.option("status")) is not None:
        if fold(typed) not in STATUS_WORDS:
            raise UserError("milestones.bad_status", text=typed)
        status = STATUS_WORDS[fold(typed)]
    people += _people(ctx, args)
    named = _named_experiment(ctx, args)
    experiments = [named] if named is not None else ctx.visible_experiments()
    lines = service.listing(ctx, experiments, status=status, owners=people)
    return ctx.reply(
        "milestone/list",
        named,
        lines=lines[:LIST_LIMIT],
        more=max(0, len(lines) - LIST_LIMIT),
        total=len(lines),
        late=sum(1 for line in lines if line.late),
        single=named,
        status=status,
        people=people,
    )


# -- changing one milestone -----------------------------------------------------------------

Target = tuple[Milestone, Experiment]


def _target(ctx: Context, args: Args, usage: str) -> Target | None:
    """The milestone whose number comes first; None when the first word is no number."""
    if not args.words:
        raise UserError(usage)
    milestone_id = parse_id(args.words[0])
    if milestone_id is None:
        return None
    return service.find(ctx, milestone_id, _named_experiment(ctx, args))


def _changed(
    ctx: Context, template: str, target: Target, undo: bool = True, **context: object
) -> Reply:
    milestone, experiment = target
    owners = service.current_owners(ctx.session, [pk(milestone)])[pk(milestone)]
    return ctx.reply(
        f"milestone/{template}",
        experiment,
        visibility=Visibility.CHANNEL,
        changed=True,
        undo=undo,
        m=milestone,
        e=experiment,
        owners=owners,
        **{**_due_context(ctx, milestone, experiment), **context},
    )


def done(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.done_usage")
    if target is None:
        return _fallback(ctx, "milestones.done_usage")
    service.mark_done(ctx, *target)
    return _changed(ctx, "done", target)


def reopen(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.reopen_usage")
    if target is None:
        return _fallback(ctx, "milestones.reopen_usage")
    service.reopen(ctx, *target)
    return _changed(ctx, "reopened", target)


def progress(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.progress_usage")
    if target is None:
        return _fallback(ctx, "milestones.progress_usage")
    if len(args.words) < 2:
        raise UserError("milestones.progress_usage")
    percent = parse_percent("".join(args.words[1:]))
    service.set_progress(ctx, *target, percent)
    return _changed(ctx, "progress", target)


def move(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.move_usage")
    if target is None:
        return _fallback(ctx, "milestones.move_usage")
    milestone, experiment = target
    rest = list(args.words[1:])
    if rest and fold(rest[0]) in _CONNECTORS:
        rest = rest[1:]
    typed = args.option("due")
    if typed is not None and rest:
        raise UserError("milestones.move_usage")
    text = typed if typed is not None else " ".join(rest)
    if not text.strip():
        raise UserError("milestones.move_usage")
    deadline = _shift(experiment, milestone, text)
    if deadline is None:
        deadline = _deadline(_parse(ctx, experiment, text), text)
    previous = service.reschedule(ctx, milestone, experiment, deadline)
    return _rescheduled(ctx, target, previous)


def _rescheduled(ctx: Context, target: Target, previous: Deadline) -> Reply:
    milestone = target[0]
    earlier = milestone.due_on < previous.on or (
        milestone.due_on == previous.on
        and milestone.due_at is not None
        and previous.at is not None
        and milestone.due_at < previous.at
    )
    return _changed(ctx, "rescheduled", target, previous=previous.shown, earlier=earlier)


def _shift(experiment: Experiment, milestone: Milestone, text: str) -> Deadline | None:
    """``de 2 semaines`` / ``by 2 weeks``: later than the current deadline."""
    m = _SHIFT.fullmatch(fold(text).replace("’", "'").strip())
    if not m:
        return None
    count = int(m.group(1)) if m.group(1).isdigit() else 1
    unit = m.group(2)
    if count == 0:
        raise UserError("milestones.move_usage")
    if unit.startswith(("mois", "month")):
        delta = relativedelta(months=count)
    elif unit.startswith(("sem", "w")):
        delta = relativedelta(weeks=count)
    else:
        delta = relativedelta(days=count)
    return service.moved_to(experiment, milestone, milestone.due_on + delta)


def reassign(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.reassign_usage")
    if target is None:
        return _fallback(ctx, "milestones.reassign_usage")
    people = _people(ctx, args)
    if not people:
        raise UserError("milestones.reassign_usage")
    previous, _ = service.reassign(ctx, *target, people)
    return _changed(ctx, "reassigned", target, previous_owners=previous)


def rename(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.rename_usage")
    if target is None:
        return _fallback(ctx, "milestones.rename_usage")
    if len(args.words) < 2:
        raise UserError("milestones.rename_usage")
    previous = service.rename(ctx, *target, " ".join(args.words[1:]))
    return _changed(ctx, "renamed", target, previous_title=previous)


def delete(ctx: Context, args: Args) -> Reply:
    target = _target(ctx, args, "milestones.delete_usage")
    if target is None:
        return _fallback(ctx, "milestones.delete_usage")
    service.delete(ctx, *target)
    return _changed(ctx, "deleted", target)


def undo(ctx: Context, args: Args) -> Reply:
    """Undo the person's last change to milestones (in this experiment, when one is named
    or bound to the channel)."""
    if args.words:
        milestone_id = parse_id(args.words[0])
        if milestone_id is not None:
            raise UserError("milestones.undo_usage", id=milestone_id)
        return _fallback(ctx, "milestones.undo_usage", id=None)
    named = _named_experiment(ctx, args)
    batch = audit.last_batch(
        ctx.session,
        ctx.workspace_id,
        ctx.person_id,
        named.id if named else None,
        entities=("milestone", "milestone_owner"),
    )
    return undo_batch(ctx, batch)


def help_(ctx: Context, args: Args) -> Reply:
    return ctx.reply("help/_milestone")


# -- buttons and the form -------------------------------------------------------------------


def milestone_buttons(ctx_or_locale: Context | str, milestone: Milestone) -> list[Button]:
    """The buttons under a message about ``milestone`` (a ping, a digest line): done, and
    one week later. Their clicks run ``milestone.done`` / ``milestone.postpone``."""
    locale = ctx_or_locale.locale if isinstance(ctx_or_locale, Context) else ctx_or_locale
    value = str(pk(milestone))
    return [
        Button(message("milestones.button_done", locale), "milestone.done", value, "primary"),
        Button(message("milestones.button_postpone", locale), "milestone.postpone", value),
    ]


def _clicked(ctx: Context, value: str) -> Target:
    milestone_id = parse_id(value.strip())
    if milestone_id is None:
        raise UserError("core.unknown_action")
    return service.find(ctx, milestone_id)


def done_action(ctx: Context, value: str) -> Reply:
    target = _clicked(ctx, value)
    service.mark_done(ctx, *target)
    return _changed(ctx, "done", target)


def postpone_action(ctx: Context, value: str) -> Reply:
    milestone, experiment = target = _clicked(ctx, value)
    deadline = service.postponed(experiment, milestone, ctx.now)
    previous = service.reschedule(ctx, milestone, experiment, deadline)
    return _rescheduled(ctx, target, previous)


def empty(ctx: Context, args: Args) -> Reply:
    """No text: the form where the platform has one, and the usage as text."""
    reply = ctx.reply("help/_milestone")
    binding = ctx.channel_binding
    fields = [
        FormField("title", ctx.message("milestones.field_title")),
        FormField(
            "due",
            ctx.message("milestones.field_due"),
            placeholder=ctx.message("milestones.due_placeholder"),
        ),
        FormField("owner", ctx.message("milestones.field_owner"), kind="user", required=False),
    ]
    if binding is None:
        choices = [e for e in ctx.visible_experiments() if ctx.role_in(e) in service.EDITORS]
        fields.append(
            FormField(
                "experiment",
                ctx.message("milestones.field_experiment"),
                kind="select",
                options=tuple((e.slug, e.name) for e in choices),
            )
        )
    reply.form = Form(
        callback="milestone.create",
        title=ctx.message("milestones.form_title"),
        submit_label=ctx.message("milestones.form_submit"),
        fields=tuple(fields),
    )
    return reply


def submit_form(ctx: Context, values: dict[str, str]) -> Reply:
    """The form's fields, checked one by one so that an error shows next to its field."""
    with _field("experiment"):
        slug = values.get("experiment", "").strip()
        experiment = ctx.experiment_by_slug(slug) if slug else ctx.experiment()
    ctx.require(experiment, *service.EDITORS)
    with _field("title"):
        title = service.check_title(values.get("title", ""))
    with _field("due"):
        due_text = values.get("due", "").strip()
        if not due_text:
            raise UserError("milestones.missing_due")
        deadline = _deadline(_parse(ctx, experiment, due_text), due_text)
    with _field("owner"):
        owner = values.get("owner", "").strip()
        user_id = None if owner.startswith("@") else owner
        people = [find_person(ctx, owner, user_id)] if owner else []
        owners = service.check_owners(ctx, experiment, people)
    milestone, people = service.create(
        ctx, experiment, title=title, deadline=deadline, owners=owners
    )
    return _created_reply(ctx, milestone, experiment, people)


@contextmanager
def _field(name: str) -> Iterator[None]:
    """Name the form field at fault in the errors raised inside."""
    try:
        yield
    except UserError as error:
        error.params.setdefault("field", name)
        raise


def register(router: Router) -> None:
    router.add_action("milestone.done", done_action)
    router.add_action("milestone.postpone", postpone_action)
    router.add_form("milestone.create", submit_form)
    router.add(
        Family(
            name="milestone",
            words={"jalon": "fr", "jalons": "fr", "milestone": "en", "milestones": "en"},
            subcommands=(
                Subcommand("help", words(["aide"], ["help"], ["?"]), help_),
                Subcommand("list", words(["liste"], ["list"]), list_, LIST_OPTIONS),
                Subcommand(
                    "done", words(["fait", "termine", "terminé"], ["done"]), done, CREATE_OPTIONS
                ),
                Subcommand("reopen", words(["rouvrir"], ["reopen"]), reopen, CREATE_OPTIONS),
                Subcommand(
                    "progress", words(["avancement"], ["progress"]), progress, CREATE_OPTIONS
                ),
                Subcommand(
                    "move",
                    words(["reporter", "decaler", "décaler"], ["move", "reschedule", "postpone"]),
                    move,
                    CREATE_OPTIONS,
                ),
                Subcommand(
                    "reassign",
                    words(["reattribuer", "réattribuer", "attribuer"], ["reassign", "assign"]),
                    reassign,
                    CREATE_OPTIONS,
                ),
                Subcommand("rename", words(["renommer"], ["rename"]), rename, CREATE_OPTIONS),
                Subcommand("delete", words(["supprimer"], ["delete"]), delete, CREATE_OPTIONS),
                Subcommand("undo", words(["annuler"], ["undo"]), undo, CREATE_OPTIONS),
            ),
            default=Subcommand("create", {}, create, CREATE_OPTIONS),
            empty=Subcommand("empty", {}, empty),
        )
    )
