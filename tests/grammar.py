"""Commands generated from the real grammar, for the property tests and ``make fuzz``.

Every family of the router, each spelling of its command word and of its subcommands in
French and English (or none: the default subcommand), the options each subcommand
accepts (``key:value`` in every spelling, the experiment's too), and values of every
kind people type: ids (and numbers past any id), amounts, dates and periods (sane and
not), mentions in Slack's and Mattermost's forms, channels, quotes of each kind (closed
or not), unicode, control characters, very long text; words separated by any
whitespace. Then: run one on a database and check what must hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from bot.mattermost.render import to_mattermost
from bot.slack.render import to_slack
from commands.core import EXPERIMENT_OPTIONS, Router
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from models import AuditEvent, Platform
from tests.dbstate import changed_tables, fingerprint

PEOPLE = ("camille", "marie", "karim", "lucas", "elu.bondy", "personne")
SLUGS = ("bondy-bp", "montreuil-ac", "aubervilliers-cantine", "inconnue")
CHANNELS = ("bondy", "labo", "montreuil")

ids = st.one_of(
    st.integers(0, 30).map(str),
    st.sampled_from(
        ["#3", "n°2", "no4", "2147483647", "2147483648", "99999999999999999999", "-1", "٣", "²"]
    ),
)
amounts = st.one_of(
    st.sampled_from(
        ["12", "12,50", "12.50 €", "€1,234.56", "1 234,56 €", "-3", "0", "1e9", "12,34,56", "９９"]
    ),
    st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False).map(str),
    st.integers(-(10**20), 10**20).map(lambda n: f"{n} €"),
)
dates = st.sampled_from(
    [
        "demain",
        "aujourd'hui",
        "hier",
        "vendredi",
        "vendredi prochain",
        "next friday",
        "tomorrow",
        "15/01",
        "15/01/2027",
        "31/02/2027",
        "2027-01-15",
        "9999-12-31",
        "10000-01-01",
        "0001-01-01",
        "dans 3 jours",
        "in 2 weeks",
        "fin du mois",
        "le 15 janvier à 14h",
        "14:00",
        "tous les lundis",
        "every monday",
        "1er décembre",
    ]
)
periods = st.sampled_from(
    [
        "novembre",
        "november 2026",
        "2026-11",
        "11/2026",
        "ce mois",
        "last month",
        "septembre..novembre",
        "du 01/09/2026 au 15/11/2026",
        "2026",
        "9999",
        "mois:9999-12-31",
        "10000",
        "12/9999",
        "0000-01",
        "2026-13",
        "tout",
    ]
)
mentions = st.one_of(
    st.sampled_from(PEOPLE).map(lambda h: f"@{h}"),
    st.sampled_from(PEOPLE).map(lambda h: f"<@U0{h.upper().replace('.', '')}|{h}>"),
    st.sampled_from(["<@U0NEW>", "<@W123|x>", "@", "<@>", "@@marie"]),
)
channels = st.one_of(
    st.sampled_from(CHANNELS).map(lambda c: f"~{c}"),
    st.sampled_from(CHANNELS).map(lambda c: f"<#C0{c.upper()}|{c}>"),
)
controls = st.sampled_from(["\x00", "\x07", "\x1b[31m", "\u200b", "\u202e", "\ufeff", "\x7f"])
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20
)
texts = st.one_of(
    st.sampled_from(["Réunion", "café", "Atelier de co-construction", "l'appel", "Note: x"]),
    words,
    st.builds(lambda a, b: a + b, words, controls),
    st.integers(200, 6000).map(lambda n: "x" * n),
)
quoted = st.builds(
    lambda q, t: q[0] + t + q[1],
    st.sampled_from([('"', '"'), ("“", "”"), ("«", "»"), ("„", "“"), ('"', ""), ("«", "")]),
    st.text(max_size=15),
)
values = st.one_of(
    ids, amounts, dates, periods, mentions, channels, texts, quoted, st.sampled_from(SLUGS)
)
separators = st.sampled_from([" ", " ", " ", "  ", "\n", "\t", "\r\n", "\u00a0"])


# Commands that do something when their slots hold sensible values, in both languages:
# a hostile value in a slot then reaches the services and the database, where a random
# command is mostly refused early.
WRITES = (
    ("jalon", "{text} {date}"),
    ("milestone", "{text} {date} owner:{mention}"),
    ("jalon", "renommer 2 {text}"),
    ("milestone", "progress 2 {id}"),
    ("jalon", "reporter{sep}{id} {date}"),
    ("jalon", "supprimer{sep}{id}"),
    ("depense", "{amount} € {text} poste:restauration"),
    ("expense", "{amount} {text} line:communication date:{date}"),
    ("depense", "voir {id}"),
    ("expense", "list month:{period}"),
    ("depense", "liste mois:{period} par:{mention}"),
    ("depense", "poste ajouter {text} {amount}"),
    ("copil", "decision 1 {text}"),
    ("meeting", "action 1 {mention} {text} {date}"),
    ("copil", "odj 1 ajouter {text}"),
    ("copil", "odj 1 retirer {id}"),
    ("copil", "planifier {text} {date} lieu:{text}"),
    ("meeting", "schedule {text} {date} 14h"),
    ("labo", 'creer nouvelle-{id} "{text}" debut:{date}'),
    ("lab", "role {mention} member"),
    ("labo", "annuler {text}"),
    ("lab", "settings territory:{text}"),
)
hostile_texts = st.one_of(
    texts,
    st.builds(lambda a, c, b: a + c + b, words, controls, words),
    st.text(min_size=1, max_size=40),  # any code point but lone surrogates, controls included
)


@st.composite
def writes(draw: st.DrawFn) -> tuple[str, str]:
    word, pattern = draw(st.sampled_from(WRITES))
    slots = {
        "text": hostile_texts,
        "date": dates,
        "id": ids,
        "amount": amounts,
        "period": periods,
        "mention": mentions,
        "sep": separators,
    }
    filled = pattern
    for name, strategy in slots.items():
        while "{" + name + "}" in filled:
            filled = filled.replace("{" + name + "}", draw(strategy), 1)
    return word, filled


def commands(router: Router) -> st.SearchStrategy[tuple[str, str]]:
    """``(command word, text)``: a command of any family, as typed; half of them one that
    writes, with hostile values in its slots."""
    return st.one_of(any_command(router), writes())


@st.composite
def any_command(draw: st.DrawFn, router: Router) -> tuple[str, str]:
    """A command of any family from the router's own words and options."""
    family = draw(st.sampled_from(sorted(router.families.values(), key=lambda f: f.name)))
    word = draw(st.sampled_from(sorted(family.words)))
    choices = [*family.subcommands, None]
    sub = draw(st.sampled_from(choices))
    parts: list[str] = []
    if sub is not None:
        parts.append(draw(st.sampled_from(sorted(sub.words))))
    accepted = {
        **EXPERIMENT_OPTIONS,
        **(sub.options if sub else family.default.options if family.default else {}),
    }
    option = st.builds(
        lambda k, v: f"{k}:{v}",
        st.sampled_from(sorted(accepted)),
        st.one_of(values, st.sampled_from(SLUGS)),
    )
    for _ in range(draw(st.integers(0, 5))):
        parts.append(draw(st.one_of(values, option, values)))
    text = ""
    for part in parts:
        text += (draw(separators) if text else "") + part
    return word, text


@dataclass
class Tally:
    """What a run of generated commands found."""

    tried: int = 0
    internal_errors: list[tuple[str, str]] = field(default_factory=list)
    refused_but_changed: list[tuple[str, list[str]]] = field(default_factory=list)
    changed_without_audit: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return (
            len(self.internal_errors)
            + len(self.refused_but_changed)
            + len(self.changed_without_audit)
        )


def last_event(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(AuditEvent.id))).scalar() or 0)


def run_one(
    router: Router,
    engine: Engine,
    command: tuple[str, str],
    now: datetime,
    tally: Tally,
    user: str = "camille",
) -> None:
    """Run one command as the console would and check: no internal error (rendering for
    both platforms included), a refused command changes no row, a command that changed
    rows left audit events."""
    word, text = command
    line = f"/{word} {text}"
    invocation = Invocation(
        workspace=WorkspaceRef(Platform.CONSOLE, "console", "Console"),
        channel=ChannelInfo("bondy", "bondy"),
        user=UserRef(user, user, user),
        command=word,
        text=text,
        now=now,
    )
    tally.tried += 1
    before = fingerprint(engine)
    events_before = last_event(engine)
    try:
        reply = router.dispatch(engine, invocation)
        to_slack(reply)
        to_mattermost(reply, None, team_id="team")
    except Exception as error:  # what the property is about: none may escape
        tally.internal_errors.append((line, f"{type(error).__name__}: {error}"[:300]))
        return
    changed = changed_tables(before, fingerprint(engine))
    if reply.errors and changed:
        tally.refused_but_changed.append((line, changed))
    elif set(changed) - BOOKKEEPING and last_event(engine) == events_before:
        tally.changed_without_audit.append((line, changed))


# Met, not changed: a person named by the platform with an id is written down the first
# time (as the person typing is on arrival), which is no change anyone made.
BOOKKEEPING = frozenset({"person", "workspace"})
