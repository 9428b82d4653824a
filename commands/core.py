"""The one path every command takes: identify → route → parse → service → render.

``Router.dispatch`` opens one transaction per command: the command happens completely or
not at all. Expected failures (``UserError``) roll back and become a reply in the user's
language; anything else propagates to the adapter's single error handler.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, exists
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, col, select

from commands.args import Args, clean_text, closest, fold, parse_args, split_first_word
from commands.errors import NotFound, PermissionDenied, UserError
from commands.invocation import Invocation
from commands.messages import normalise_locale
from commands.render import message, render
from commands.reply import Button, Reply, Visibility
from commands.services import audit
from models import (
    AuditEvent,
    ChannelBinding,
    Experiment,
    Membership,
    Person,
    Platform,
    RequestReceipt,
    Role,
    Workspace,
    pk,
)

log = logging.getLogger(__name__)

Handler = Callable[["Context", Args], Reply]
# A button click: the button's ``value`` comes back as the argument.
ActionHandler = Callable[["Context", str], Reply]
# A submitted form: field name → value as typed.
FormHandler = Callable[["Context", dict[str, str]], Reply]

# Options naming the experiment, accepted by every command.
EXPERIMENT_OPTIONS = {"expe": "experiment", "exp": "experiment", "experiment": "experiment"}


@dataclass(frozen=True)
class Subcommand:
    """``words`` maps every accepted spelling to its language (``{"liste": "fr",
    "list": "en"}``); a word the same in both languages maps to ``""``."""

    name: str
    words: Mapping[str, str]
    handler: Handler
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """A command family (``/depense`` and ``/expense``…). ``default`` runs when the text
    does not start with a subcommand (``/depense 12 € café``); ``empty`` when there is no
    text at all (a form, or help)."""

    name: str
    words: Mapping[str, str]
    subcommands: tuple[Subcommand, ...]
    default: Subcommand | None = None
    empty: Subcommand | None = None

    def find(self, word: str) -> Subcommand | None:
        folded = fold(word)
        for sub in self.subcommands:
            if folded in {fold(w) for w in sub.words}:
                return sub
        return None

    def spellings(self, locale: str) -> list[str]:
        return [
            w for sub in self.subcommands for w, lang in sub.words.items() if lang in ("", locale)
        ]


class Context:
    """What a handler works with: the open session, who is typing, where, and when."""

    def __init__(
        self,
        session: Session,
        invocation: Invocation,
        workspace: Workspace,
        person: Person,
        locale: str,
        batch: str,
    ) -> None:
        self.session = session
        self.invocation = invocation
        self.workspace = workspace
        self.person = person
        self.locale = locale
        self.batch = batch
        self.now: datetime = invocation.now
        self._binding: ChannelBinding | bool | None = False
        self._roles: dict[int, Role | None] = {}
        self._bound_experiment: Experiment | None = None
        # A submitted form's ``Form.state``, as the form was opened with it.
        self.form_state = ""

    def knows_binding(self, binding: ChannelBinding | None, experiment: Experiment | None) -> None:
        """The channel's binding and its experiment, when they came with the arrival query."""
        self._binding = binding
        self._bound_experiment = experiment

    # -- where -------------------------------------------------------------------------

    @property
    def workspace_id(self) -> int:
        assert self.workspace.id is not None
        return self.workspace.id

    @property
    def person_id(self) -> int:
        assert self.person.id is not None
        return self.person.id

    @property
    def channel_binding(self) -> ChannelBinding | None:
        if self._binding is False:
            # The experiment comes along, so resolving it next costs no query.
            row = self.session.exec(
                select(ChannelBinding, Experiment)
                .join(Experiment, col(Experiment.id) == ChannelBinding.experiment_id)
                .where(
                    ChannelBinding.workspace_id == self.workspace_id,
                    ChannelBinding.channel_id == self.invocation.channel.external_id,
                )
            ).first()
            self._binding = row[0] if row is not None else None
            # Held here: the session's identity map keeps rows only while referenced.
            self._bound_experiment = row[1] if row is not None else None
        return self._binding if isinstance(self._binding, ChannelBinding) else None

    def experiment_by_slug(self, slug: str, *, include_archived: bool = False) -> Experiment:
        slug = slug.strip().lstrip("~#")
        exp = self.session.exec(
            select(Experiment).where(
                Experiment.workspace_id == self.workspace_id, Experiment.slug == slug
            )
        ).first()
        if exp is None or (exp.archived_at is not None and not include_archived):
            slugs = [e.slug for e in self.visible_experiments()]
            raise NotFound("core.unknown_experiment", slug=slug, suggestion=closest(slug, slugs))
        if self.role_in(exp) is None:
            # Same answer as a missing one: an experiment one has no role in is not there.
            slugs = [e.slug for e in self.visible_experiments()]
            raise NotFound("core.unknown_experiment", slug=slug, suggestion=closest(slug, slugs))
        return exp

    def experiment(self, args: Args | None = None, *, include_archived: bool = False) -> Experiment:
        """The experiment a command is about: ``expe:<slug>`` if given, else the one bound
        to the channel, else the only one the person works on."""
        slug = args.option("experiment") if args else None
        if slug:
            return self.experiment_by_slug(slug, include_archived=include_archived)
        binding = self.channel_binding
        if binding is not None:
            exp = self.session.get(Experiment, binding.experiment_id)
            if exp is not None and (exp.archived_at is None or include_archived):
                if self.role_in(exp) is None:
                    raise PermissionDenied("core.no_role", experiment=exp.name)
                return exp
        visible = self.visible_experiments()
        if len(visible) == 1:
            return visible[0]
        raise UserError("core.which_experiment", slugs=[e.slug for e in visible])

    def visible_experiments(self) -> list[Experiment]:
        """The active experiments this person has a role in."""
        experiments = self.session.exec(
            select(Experiment)
            .where(
                Experiment.workspace_id == self.workspace_id, col(Experiment.archived_at).is_(None)
            )
            .order_by(col(Experiment.name))
        ).all()
        return [e for e in experiments if self.role_in(e) is not None]

    # -- what changed ------------------------------------------------------------------

    def record(
        self,
        action: str,
        row: Any,
        before: dict[str, Any] | None = None,
        experiment_id: int | None = None,
    ) -> AuditEvent:
        """Write the audit event of a change this command made to ``row``."""
        return audit.record(
            self.session,
            workspace_id=self.workspace_id,
            actor_id=self.person_id,
            action=action,
            row=row,
            before=before,
            now=self.now,
            batch=self.batch,
            experiment_id=experiment_id,
            command=f"/{self.invocation.command} {self.invocation.text}".strip(),
        )

    # -- who ---------------------------------------------------------------------------

    def role_in(self, experiment: Experiment) -> Role | None:
        """The person's role in ``experiment`` (computed once per command)."""
        key = pk(experiment)
        if key not in self._roles:
            self._roles[key] = role_of(self.session, self.person, experiment, self.channel_binding)
        return self._roles[key]

    def forget_roles(self) -> None:
        """After a command changed roles, so later checks see the change."""
        self._roles.clear()

    def require(self, experiment: Experiment, *roles: Role) -> Role:
        role = self.role_in(experiment)
        if role is None:
            raise PermissionDenied("core.no_role", experiment=experiment.name)
        if role not in roles:
            raise PermissionDenied(
                "core.forbidden",
                experiment=experiment.name,
                role=role.value,
                needed=[r.value for r in roles],
            )
        return role

    @property
    def is_lab_coordinator(self) -> bool:
        return self.person.lab_role == Role.COORDINATOR

    def require_lab_coordinator(self) -> None:
        if not self.is_lab_coordinator:
            raise PermissionDenied("core.lab_coordinator_only")

    def can_see_budget(self, experiment: Experiment) -> bool:
        role = self.role_in(experiment)
        if role is None:
            return False
        return role != Role.PARTNER or experiment.partners_see_budget

    # -- rendering ---------------------------------------------------------------------

    def tz(self, experiment: Experiment | None = None) -> str:
        if experiment is not None:
            return experiment.timezone
        return self.person.timezone or self.invocation.timezone or self.workspace.timezone

    def render(self, name: str, experiment: Experiment | None = None, **context: Any) -> str:
        return render(name, self.locale, self.tz(experiment), **context)

    def message(self, key: str, **params: Any) -> str:
        return message(key, self.locale, **params)

    def reply(
        self,
        name: str,
        experiment: Experiment | None = None,
        *,
        visibility: Visibility = Visibility.EPHEMERAL,
        changed: bool = False,
        undo: bool = False,
        **context: Any,
    ) -> Reply:
        """Render template ``name`` into a reply. ``undo`` adds the undo button of this
        command's changes."""
        buttons = []
        if undo:
            buttons.append(Button(self.message("core.undo_button"), "undo", self.batch))
        return Reply(
            text=self.render(name, experiment, **context),
            visibility=visibility,
            buttons=buttons,
            changed=changed,
        )


def role_of(
    session: Session,
    person: Person,
    experiment: Experiment,
    binding: ChannelBinding | None = None,
) -> Role | None:
    """A lab coordinator coordinates everything; otherwise one's membership decides; a
    guest in a channel bound to the experiment is its partner."""
    if person.lab_role == Role.COORDINATOR:
        return Role.COORDINATOR
    membership = session.exec(
        select(Membership).where(
            Membership.experiment_id == experiment.id,
            Membership.person_id == person.id,
            col(Membership.removed_at).is_(None),
        )
    ).first()
    if membership is not None:
        return Role(membership.role)
    if person.is_guest and binding is not None and binding.experiment_id == experiment.id:
        return Role.PARTNER
    return None


class Router:
    """Command families registered explicitly (``register(router)`` in each module,
    called from ``commands.registry``)."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}
        self._words: dict[str, tuple[Family, str]] = {}
        self.actions: dict[str, ActionHandler] = {}
        self.forms: dict[str, FormHandler] = {}

    def add_action(self, name: str, handler: ActionHandler) -> None:
        """A button action (``Button.action``), e.g. ``"milestone.done"``."""
        if name in self.actions:
            raise ValueError(f"action {name!r} registered twice")
        self.actions[name] = handler

    def add_form(self, callback: str, handler: FormHandler) -> None:
        """What a submitted form (``Form.callback``) does with its values."""
        if callback in self.forms:
            raise ValueError(f"form {callback!r} registered twice")
        self.forms[callback] = handler

    def add(self, family: Family) -> None:
        if family.name in self.families:
            raise ValueError(f"family {family.name!r} registered twice")
        self.families[family.name] = family
        for word, lang in family.words.items():
            self._words[fold(word)] = (family, lang)

    def words(self) -> list[str]:
        return sorted(self._words)

    def resolve(self, command: str) -> tuple[Family, str]:
        word = fold(command.strip().lstrip("/"))
        try:
            return self._words[word]
        except KeyError:
            raise UserError(
                "core.unknown_command", command=command, suggestion=closest(word, self.words())
            ) from None

    def dispatch(self, engine: Engine, invocation: Invocation) -> Reply:
        """Run one typed command in one transaction and return its reply."""
        invocation = cleaned(invocation)

        def run(ctx_factory: Callable[[str], Context]) -> Reply:
            family, family_locale = self.resolve(invocation.command)
            sub, rest, sub_locale = _pick_subcommand(family, invocation.text)
            ctx = ctx_factory(sub_locale or family_locale)
            args = parse_args(rest, {**EXPERIMENT_OPTIONS, **sub.options})
            return sub.handler(ctx, args)

        return self._run(engine, invocation, run)

    def act(self, engine: Engine, invocation: Invocation, action: str, value: str) -> Reply:
        """A button click, as one transaction. ``invocation.text`` is unused."""

        def run(ctx_factory: Callable[[str], Context]) -> Reply:
            handler = self.actions.get(action)
            if handler is None:
                raise UserError("core.unknown_action")
            return handler(ctx_factory(""), clean_text(value))

        return self._run(engine, invocation, run)

    def submit(
        self,
        engine: Engine,
        invocation: Invocation,
        callback: str,
        values: dict[str, str],
        state: str = "",
    ) -> Reply:
        """A submitted form, as one transaction."""

        def run(ctx_factory: Callable[[str], Context]) -> Reply:
            handler = self.forms.get(callback)
            if handler is None:
                raise UserError("core.unknown_action")
            ctx = ctx_factory("")
            ctx.form_state = clean_text(state)
            return handler(ctx, {k: clean_text(v) for k, v in values.items()})

        return self._run(engine, invocation, run)

    def _run(
        self,
        engine: Engine,
        invocation: Invocation,
        run: Callable[[Callable[[str], Context]], Reply],
    ) -> Reply:
        """Run once; again when the whole transaction rolled back for a reason that running
        it again cures: on SQLite, another process's write got in between; on a server, the
        pooled connection turned out dead (the server restarted, or dropped it) before the
        commit was sent. Pooled connections are not pinged before each use, which would cost
        every command a round trip: a dead one fails its first statement instead. Once
        more after a unique key conflict: two first requests of a new workspace or person
        at once, the loser's transaction rolled back whole; run again, it finds the rows."""
        invocation = cleaned(invocation)
        conflicted = False
        for attempt in range(RUN_ATTEMPTS):
            try:
                return self._run_once(engine, invocation, run)
            except IntegrityError:
                if conflicted or attempt == RUN_ATTEMPTS - 1:
                    raise
                conflicted = True
                log.info("unique key conflict, running %r again", invocation.command)
            except _Disconnected as lost:
                if attempt == RUN_ATTEMPTS - 1:
                    raise lost.error from None
                log.warning("database connection lost, running %r again", invocation.command)
            except OperationalError as error:
                if _read_only(error):
                    # Reads went through; the first write met a read-only database.
                    log.warning("read-only database refused %r", invocation.command)
                    locale = normalise_locale(invocation.locale)
                    return error_reply(UserError("core.read_only"), locale)
                if not _sqlite_locked(error) or attempt == RUN_ATTEMPTS - 1:
                    raise
                log.info("database locked, running %r again", invocation.command)
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _run_once(
        self,
        engine: Engine,
        invocation: Invocation,
        run: Callable[[Callable[[str], Context]], Reply],
    ) -> Reply:
        batch = str(uuid.uuid4())
        committing = False
        with Session(engine, expire_on_commit=False) as session:
            locale = normalise_locale(invocation.locale)
            try:
                found = arrive(session, invocation)
                if found is None:
                    return Reply(text=message("core.duplicate_request", locale))
                workspace, person = found.workspace, found.person

                def make_context(words_locale: str) -> Context:
                    nonlocal locale
                    locale = normalise_locale(
                        person.locale or words_locale or invocation.locale or workspace.locale
                    )
                    ctx = Context(session, invocation, workspace, person, locale, batch)
                    if found.binding_known:
                        ctx.knows_binding(found.binding, found.experiment)
                    return ctx

                reply = run(make_context)
                # Only a command that changed something must not run twice; a read may.
                if invocation.request_key and audit.wrote(session):
                    session.add(
                        RequestReceipt(key=invocation.request_key, created_at=invocation.now)
                    )
                session.flush()
                # From here a lost connection leaves the outcome unknown: never run again.
                committing = True
                session.commit()
                return reply
            except UserError as error:
                session.rollback()
                return error_reply(error, locale)
            except IntegrityError:
                session.rollback()
                if invocation.request_key and _already_handled(session, invocation.request_key):
                    return Reply(text=message("core.duplicate_request", locale))
                raise
            except DataError as error:
                # A value past a column's size (a text longer than its field, a number
                # past its type) that no check caught first: refused in words, not an
                # apology. PostgreSQL says so; SQLite stores what it is given.
                key = _TOO_BIG.get(getattr(error.orig, "sqlstate", None) or "")
                if key is None:
                    raise
                session.rollback()
                log.warning("value out of range in %r: %s", invocation.command, error.orig)
                return error_reply(UserError(key), locale)
            except DBAPIError as error:
                if error.connection_invalidated and not committing:
                    raise _Disconnected(error) from error
                raise


RUN_ATTEMPTS = 3
# SQLSTATEs of values too big for their column: string data right truncation, numeric
# value out of range.
_TOO_BIG = {"22001": "core.too_long", "22003": "core.number_too_large"}


def cleaned(invocation: Invocation) -> Invocation:
    """The invocation without the characters no row can hold (``clean_text``)."""
    return replace(
        invocation, command=clean_text(invocation.command), text=clean_text(invocation.text)
    )


class _Disconnected(Exception):
    """The connection died before the commit was sent: nothing was written."""

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def _sqlite_locked(error: OperationalError) -> bool:
    """SQLite refuses a deferred transaction's upgrade to a write when another connection
    committed meanwhile ("database is locked"), without waiting for its busy timeout."""
    return "database is locked" in str(error.orig)


def _read_only(error: OperationalError) -> bool:
    """A SQLite database that takes reads and refuses writes (a read-only file or
    mount, or opened with ``mode=ro``)."""
    return "readonly database" in str(error.orig)


def error_reply(error: UserError, locale: str) -> Reply:
    """The reply to a failed command. A ``field`` parameter of the error names the form
    field at fault (``UserError("expenses.bad_amount", field="amount", ...)``)."""
    text = message(error.key, locale, **error.params)
    field_name = str(error.params.get("field") or "")
    return Reply(text=text, visibility=Visibility.EPHEMERAL, errors={field_name: text})


def apology(locale: str | None) -> Reply:
    """What an adapter answers when something unexpected broke (logged, never shown)."""
    return Reply(text=message("core.unexpected", normalise_locale(locale)))


def _pick_subcommand(family: Family, text: str) -> tuple[Subcommand, str, str]:
    stripped = text.strip()
    if not stripped and family.empty is not None:
        return family.empty, "", ""
    # Any whitespace separates the subcommand word (a newline or a tab too).
    first, rest = split_first_word(stripped)
    sub = family.find(first) if first else None
    if sub is not None:
        spelled = {fold(w): lang for w, lang in sub.words.items()}
        return sub, rest, spelled.get(fold(first), "")
    if family.default is not None:
        return family.default, stripped, ""
    raise UserError(
        "core.unknown_subcommand",
        command=family.name,
        word=first,
        suggestion=closest(first, [w for s in family.subcommands for w in s.words]),
        family=family.name,
    )


def _already_handled(session: Session, key: str) -> bool:
    return (
        session.exec(select(RequestReceipt.id).where(RequestReceipt.key == key)).first() is not None
    )


@dataclass
class Arrival:
    """Who typed a command, where, and whether it was handled already."""

    workspace: Workspace
    person: Person
    # The channel's binding and its experiment, when the arrival query brought them.
    binding_known: bool = False
    binding: ChannelBinding | None = None
    experiment: Experiment | None = None


def _arrival_query() -> Any:
    """The arrival query, built once (it runs for every command): the workspace and the
    person joined, the channel's binding and its experiment outer-joined, and whether the
    request's key has a receipt (never, for a request without a key: NULL matches none)."""
    return (
        sa_select(
            Workspace,
            Person,
            ChannelBinding,
            Experiment,
            exists().where(col(RequestReceipt.key) == bindparam("key")).label("handled"),
        )
        .join(Person, col(Person.workspace_id) == Workspace.id)
        .outerjoin(
            ChannelBinding,
            and_(
                col(ChannelBinding.workspace_id) == Workspace.id,
                col(ChannelBinding.channel_id) == bindparam("channel"),
            ),
        )
        .outerjoin(Experiment, col(Experiment.id) == ChannelBinding.experiment_id)
        .where(
            col(Workspace.platform) == bindparam("platform"),
            col(Workspace.external_id) == bindparam("workspace"),
            col(Person.external_id) == bindparam("user"),
        )
    )


_ARRIVAL = _arrival_query()


def arrive(session: Session, invocation: Invocation) -> Arrival | None:
    """Everything a command starts from, in one query when the person is known already:
    the workspace, the person, the channel's binding with its experiment. None when the
    request was handled before (a retried delivery, a double click)."""
    key = invocation.request_key
    known = session.execute(
        _ARRIVAL,
        {
            "key": key,
            "channel": invocation.channel.external_id,
            "platform": invocation.workspace.platform,
            "workspace": invocation.workspace.external_id,
            "user": invocation.user.external_id,
        },
    ).first()
    if known is not None:
        workspace, person, binding, experiment, handled_before = known
        if handled_before:
            return None
        person = ensure_person(session, workspace, invocation, person)
        return Arrival(workspace, person, True, binding, experiment)
    if key and _already_handled(session, key):
        return None
    return Arrival(*identify(session, invocation))


def identify(session: Session, invocation: Invocation) -> tuple[Workspace, Person]:
    """The workspace and the person typing, met now or before."""
    workspace = ensure_workspace(session, invocation)
    return workspace, ensure_person(session, workspace, invocation)


def ensure_workspace(session: Session, invocation: Invocation) -> Workspace:
    ref = invocation.workspace
    workspace = session.exec(
        select(Workspace).where(
            Workspace.platform == ref.platform, Workspace.external_id == ref.external_id
        )
    ).first()
    if workspace is None:
        workspace = Workspace(platform=ref.platform, external_id=ref.external_id, name=ref.name)
        session.add(workspace)
        session.flush()
    return workspace


def ensure_person(
    session: Session, workspace: Workspace, invocation: Invocation, known: Person | None = None
) -> Person:
    """The person typing, met now or before. The first non-guest of a workspace becomes its
    lab coordinator, so a new lab can start without any set-up."""
    user = invocation.user
    person = (
        known
        or session.exec(
            select(Person).where(
                Person.workspace_id == workspace.id, Person.external_id == user.external_id
            )
        ).first()
    )
    if person is None:
        person = Person(
            workspace_id=pk(workspace),
            external_id=user.external_id,
            handle=user.handle,
            display_name=user.display_name or user.handle,
            is_guest=user.is_guest or invocation.role == Role.PARTNER,
        )
        if not person.is_guest and not _has_lab_coordinator(session, workspace):
            person.lab_role = Role.COORDINATOR
        session.add(person)
        session.flush()
        return person
    # A platform that says "guest" makes a partner; one that says nothing leaves what we know
    # (a coordinator can still give a guest a member's role, which takes precedence).
    guest = person.is_guest or user.is_guest or invocation.role == Role.PARTNER
    if (person.handle, person.is_guest) != (user.handle, guest):
        person.handle = user.handle
        person.is_guest = guest
        session.add(person)
    return person


def _has_lab_coordinator(session: Session, workspace: Workspace) -> bool:
    return (
        session.exec(
            select(Person.id).where(
                Person.workspace_id == workspace.id, Person.lab_role == Role.COORDINATOR
            )
        ).first()
        is not None
    )


def find_person(ctx: Context, handle_or_id: str, user_id: str | None = None) -> Person:
    """A person of the workspace by platform id or handle (``marie``, ``@marie``)."""
    handle = handle_or_id.lstrip("@")
    query = select(Person).where(Person.workspace_id == ctx.workspace_id)
    if user_id:
        person = ctx.session.exec(query.where(Person.external_id == user_id)).first()
        if person is not None:
            return person
    known_id = ctx.invocation.mentioned_ids.get(handle)
    if known_id:
        person = ctx.session.exec(query.where(Person.external_id == known_id)).first()
        if person is not None:
            return person
    person = ctx.session.exec(query.where(col(Person.handle).ilike(handle))).first()
    if person is not None:
        return person
    if user_id or known_id:
        # Named by the platform with an id: someone real we have not met yet.
        person = Person(
            workspace_id=ctx.workspace_id,
            external_id=user_id or known_id or handle,
            handle=handle,
            display_name=handle,
        )
        ctx.session.add(person)
        ctx.session.flush()
        return person
    handles = list(
        ctx.session.exec(select(Person.handle).where(Person.workspace_id == ctx.workspace_id))
    )
    raise NotFound(
        "core.unknown_person",
        handle=handle,
        suggestion=closest(handle, handles),
        console=ctx.invocation.workspace.platform == Platform.CONSOLE,
        me=ctx.person.handle,
    )


def words(fr: Iterable[str], en: Iterable[str], both: Iterable[str] = ()) -> dict[str, str]:
    """Spellings of a subcommand: ``words(["liste"], ["list"])``."""
    table = dict.fromkeys(fr, "fr")
    table.update(dict.fromkeys(en, "en"))
    table.update(dict.fromkeys(both, ""))
    return table
