"""What a person typed is shown as typed, on every platform, through every template and
every catalog message: no mention, no link, no formatting comes out of it.

Every template under ``commands/templates`` and every message of ``commands/catalogs`` is
rendered with the renderer's own settings, every value it prints being hostile text
(mentions in each platform's forms, links in every form, markdown, control characters,
long strings). The same template rendered with a harmless value gives the markup Coordo
itself wrote; the hostile rendering must carry exactly that markup (the same mentions,
entities, links, tags and formatting) and, once the platform's own unescaping is undone,
the hostile text as it was typed.

Values come from a ``jinja2.Undefined`` that answers every attribute, item, loop and
call with more of the same text, so no template is hand-fed and a new one is covered the
day it is added. Filters that format numbers and dates get a number or a date instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Environment, Template, Undefined, pass_context
from jinja2.runtime import Context
from markdown_it import MarkdownIt
from markupsafe import Markup

from bot.matrix.render import content as matrix_content
from bot.mattermost.render import mattermost_markdown, to_mattermost
from bot.slack.render import mrkdwn, to_slack_pages
from bot.text import BACKTICK_LOOKALIKE, ZWSP
from commands import usertext
from commands.messages import SUPPORTED_LOCALES, known_families, message_keys, raw_message
from commands.render import SAFE_URL, build_environment, mention
from commands.reply import Field, Reply, Section
from commands.typography import set_french

# -- hostile text -----------------------------------------------------------------------

HOSTILE_PIECES = [
    # Mattermost and Matrix mentions
    "@channel",
    "@all",
    "@here",
    "@marie",
    "@room",
    "@ROOM",
    "@karim.b",
    # Slack's special mentions and entities, which Mattermost reads too
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0AB|@equipe>",
    "<@U999|x>",
    "<@U999>",
    "<@W0AB>",
    "<#C0AB|général>",
    "<@@admin:lab.fr|admin>",
    # links
    "[Facture](https://evil.example/f)",
    "<https://evil.example|Facture>",
    "<https://evil.example>",
    "https://evil.example/a_b?x=1&y=2",
    "[x]: https://evil.example",
    "![img](https://evil.example/i.png)",
    "<a href='https://evil.example'>ici</a>",
    "mailto:x@evil.example",
    # formatting
    "*gras*",
    "**gras**",
    "_pench\u00e9_",
    "__x__",
    "~barr\u00e9~",
    "~~x~~",
    "`code`",
    "```bloc```",
    "> cit\u00e9",
    "# titre",
    "- item",
    "+ item",
    "1. item",
    "2) item",
    "---",
    "===",
    "    indent\u00e9",
    "| a | b |",
    "<b>gras</b>",
    "&amp;",
    "&lt;!here&gt;",
    "\\*",
    "\\",
    ":smile:",
    "\u02cb",
    # control and invisible characters
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\u2060",
    "\u202e",
    "\ufeff",
    "\u00a0",
]

_ALPHABET = st.characters(
    blacklist_categories=("Cs",), blacklist_characters=usertext.START + usertext.END
)
hostile_texts = (
    st.lists(
        st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(_ALPHABET, max_size=6)),
        min_size=1,
        max_size=8,
    )
    .map(" ".join)
    .filter(bool)
)
HARMLESS = "v"


class _Current:
    text = HARMLESS
    # How many items a loop gets: loops unpack pairs or triples, so a template that
    # fails to unpack is rendered again with wider items.
    width = 2


class Hostile(Undefined):
    """Any value a template asks for: the current text when printed, more of the same
    for an attribute, an item, a call or a loop (two of them), a number in arithmetic."""

    __slots__ = ()

    def __str__(self) -> str:
        return _Current.text

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Hostile(name=name)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return [Hostile() for _ in range(_Current.width)]
        return Hostile()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Hostile()

    def __iter__(self) -> Iterator[Any]:
        for _ in range(_Current.width):
            yield Hostile()

    def __len__(self) -> int:
        return _Current.width

    def keys(self) -> list[str]:
        """``**params``: none given, so the message finds each one missing, hence hostile."""
        return []

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return id(self)

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __lt__

    def __gt__(self, other: object) -> bool:
        return True

    __ge__ = __gt__

    def __contains__(self, item: object) -> bool:
        return False

    def __int__(self) -> int:
        return 3

    __index__ = __int__

    def __float__(self) -> float:
        return 0.5

    def _number(self, *other: Any) -> int:
        return 3

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _number
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _number
    __neg__ = __pos__ = __abs__ = _number


class _Person:
    external_id = "U0MEANT"
    handle = "meant"


_STAND_INS: dict[str, Any] = {
    "money": 123_456,
    "date_long": datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
    "date_fmt": datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
    "time": datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
    "percent": 0.5,
    "number": 3,
}


def _tolerant(filter_: Any, stand_in: Any) -> Any:
    @pass_context
    def wrapped(ctx: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, Undefined):
            value = stand_in
        args = tuple("EUR" if isinstance(a, Undefined) else a for a in args)
        return filter_(ctx, value, *args, **kwargs)

    return wrapped


def _known_key(key: str) -> str:
    """A key built from a hostile value (``"core.role_" ~ r``) → the same key of that
    family whatever the value: the first word (not a sentence naming more words the same
    way) among those that begin as it does, up to its first ``_``."""
    family, _, name = key.partition(".")
    keys = message_keys(family)
    if name in keys:
        return key
    start = name.partition("_")[0] + "_"
    candidates = sorted(
        (k for k in keys if k.startswith(start)),
        key=lambda k: ("message(" in raw_message(f"{family}.{k}", "fr"), k),
    )
    return f"{family}.{candidates[0]}"


@cache
def hostile_environment() -> Environment:
    env = build_environment(Hostile)
    for name, stand_in in _STAND_INS.items():
        env.filters[name] = _tolerant(env.filters[name], stand_in)
    env.filters["mention"] = lambda person: mention(
        _Person if isinstance(person, Undefined) else person
    )

    @pass_context
    def message(ctx: Context, key: str, **params: Any) -> Markup:
        locale = str(ctx.get("locale", "fr"))
        return Markup(
            _catalog_template(env, _known_key(str(key)), locale)
            .render(locale=locale, **params)
            .strip()
        )

    env.globals["message"] = message
    return env


@cache
def _catalog_template(env: Environment, key: str, locale: str) -> Template:
    source = raw_message(key, locale)
    return env.from_string(set_french(source) if locale == "fr" else source)


# -- what is rendered -------------------------------------------------------------------

TEMPLATES = sorted(hostile_environment().list_templates(filter_func=lambda n: n.endswith(".md.j2")))
MESSAGES = sorted(
    (family, key, locale)
    for family in known_families()
    for key in message_keys(family)
    for locale in SUPPORTED_LOCALES
)


def render_template(name: str, text: str) -> str:
    _Current.text = text
    locale = name.rsplit(".", 3)[-3]
    template = hostile_environment().get_template(name)
    for width in (2, 3, 4):
        _Current.width = width
        try:
            return str(template.render(locale=locale, tz="Europe/Paris")).strip()
        except ValueError as error:
            if "values to unpack" not in str(error):
                raise
    raise AssertionError(f"{name}: no width of loop items fits")


def render_message(family: str, key: str, locale: str, text: str) -> str:
    _Current.text = text
    env = hostile_environment()
    return str(_catalog_template(env, f"{family}.{key}", locale).render(locale=locale)).strip()


# -- reading what each platform shows --------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u2060\\s]")


def as_read(text: str) -> str:
    """Text compared as a reader sees it: no invisible characters nor white space, the
    lookalike backtick read as a backtick, NUL as the replacement character markdown
    shows for it."""
    return _INVISIBLE.sub("", text).replace(BACKTICK_LOOKALIKE, "`").replace("\x00", "\ufffd")


def user_spans(neutral: str) -> list[str]:
    return [chunk for user, chunk in usertext.split(neutral) if user]


# Slack: entities, and formatting characters not kept apart by zero-width spaces.
_SLACK_ENTITY = re.compile(r"<[^<>]*>")


def slack_formatting(text: str) -> Counter[str]:
    """The formatting characters Slack may act on: not kept apart by zero-width spaces,
    and outside inline code (between two such backticks nothing is formatted)."""
    active: Counter[str] = Counter()
    in_code = False
    for i, char in enumerate(text):
        if char in "*_~`":
            kept_apart = text[i - 1 : i] == ZWSP and text[i + 1 : i + 2] == ZWSP
            if kept_apart:
                continue
            if char == "`":
                in_code = not in_code
            if char == "`" or not in_code:
                active[char] += 1
    lines = re.split(r"[\n\r]", text)
    active["quote"] = sum(1 for line in lines if line.startswith("&gt;"))
    return active


def slack_read(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Mattermost: what its markdown makes of the text, token by token.
_MARKDOWN = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_FORMATTING_TOKENS = {
    "strong_open",
    "em_open",
    "s_open",
    "link_open",
    "image",
    "code_inline",
    "fence",
    "code_block",
    "heading_open",
    "lheading_open",
    "blockquote_open",
    "bullet_list_open",
    "ordered_list_open",
    "html_inline",
    "html_block",
    "hr",
    "table_open",
}
_MATTERMOST_MENTION = re.compile(r"@[\w.\-]+")


def mattermost_reading(text: str, address: str | None = None) -> tuple[Counter[str], str]:
    """The formatting tokens Mattermost's markdown finds (but a link to ``address``), and
    the text it shows."""
    formatting: Counter[str] = Counter()
    shown: list[str] = []
    for token in _MARKDOWN.parse(text):
        for t in [token, *(token.children or [])]:
            kind = t.type
            if kind == "heading_open" and t.markup in ("=", "-"):
                kind = "lheading_open"
            if kind == "link_open" and address is not None and t.attrGet("href") == address:
                continue
            if kind in _FORMATTING_TOKENS:
                formatting[kind] += 1
            if t.type in ("text", "code_inline", "fence", "code_block", "html_inline"):
                shown.append(t.content)
    return formatting, "".join(shown)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.shown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "br":  # a line a person broke is shown broken
            self.tags[f"{tag} {sorted(attrs)}"] += 1

    def handle_data(self, data: str) -> None:
        self.shown.append(data)


def matrix_reading(content: dict[str, Any]) -> tuple[Counter[str], str]:
    parser = _Html()
    parser.feed(content["formatted_body"])
    parser.close()
    return parser.tags, "".join(parser.shown)


# -- the checks -------------------------------------------------------------------------


def _stored_address(typed: str) -> bool:
    """A stored web address Coordo makes a link of on purpose (``|link``), under its
    own label: the address as typed is the link's, and nothing else is."""
    return bool(SAFE_URL.fullmatch(typed.strip()))


def check_slack(hostile: str, harmless: str, typed: str = "") -> None:
    shown, meant = mrkdwn(hostile), mrkdwn(harmless)
    entities = Counter(_SLACK_ENTITY.findall(shown))
    if _stored_address(typed):
        address = typed.strip().replace("&", "&amp;")
        entities = Counter({e: n for e, n in entities.items() if not e.startswith(f"<{address}|")})
        link = f"<{address}|"
        shown = _SLACK_ENTITY.sub(
            lambda m: m[0][len(link) : -1] if m[0].startswith(link) else m[0], shown
        )
        shown = shown.replace(address, "")  # shown bare (a video link)
    assert entities == Counter(_SLACK_ENTITY.findall(meant))
    assert slack_formatting(shown) == slack_formatting(meant)
    read = as_read(slack_read(shown))
    for span in user_spans(hostile):
        assert as_read(span) in read
    # The whole message too: blocks and the notification's text.
    for page in to_slack_pages(
        Reply(text=hostile, sections=[Section(fields=(Field(hostile, hostile),))])
    ):
        assert "<!" not in (page.text or "")
        for block in page.blocks or []:
            assert "<!" not in str(block)
            assert "<@U999" not in str(block)


def check_mattermost(hostile: str, harmless: str, typed: str = "") -> None:
    shown, meant = mattermost_markdown(hostile), mattermost_markdown(harmless)
    assert Counter(_MATTERMOST_MENTION.findall(shown)) == Counter(
        _MATTERMOST_MENTION.findall(meant)
    )
    # The server reads Slack's ``<!channel>`` in the raw text.
    assert shown.count("<!") == meant.count("<!")
    address = _MARKDOWN.normalizeLink(typed.strip()) if _stored_address(typed) else None
    formatting, read = mattermost_reading(shown, address)
    assert formatting == mattermost_reading(meant)[0]
    read = as_read(read)
    for span in user_spans(hostile):
        assert as_read(span) in read
    # The whole post too: attachments' titles, texts and fields.
    section = Section(title=hostile, text=hostile, fields=(Field(hostile, hostile),))
    post = to_mattermost(Reply(text=hostile, sections=[section]))
    for attachment in post.attachments or []:
        for value in [attachment.get("title", ""), attachment.get("text", "")] + [
            f[k] for f in attachment.get("fields", []) for k in ("title", "value")
        ]:
            assert Counter(_MATTERMOST_MENTION.findall(value)) == Counter(
                _MATTERMOST_MENTION.findall(meant)
            )


def check_matrix(hostile: str, harmless: str, typed: str = "") -> None:
    shown, meant = matrix_content(Reply(text=hostile)), matrix_content(Reply(text=harmless))
    assert shown["m.mentions"] == meant["m.mentions"]
    assert "@room" not in shown["body"].lower()
    tags, read = matrix_reading(shown)
    if _stored_address(typed):
        tags.pop(f"a {[('href', typed.strip())]}", None)
    assert tags == matrix_reading(meant)[0]
    read = as_read(read)
    body = as_read(shown["body"])
    for span in user_spans(hostile):
        assert as_read(span) in read
        assert as_read(span) in body


def check_everywhere(hostile: str, harmless: str, typed: str = "") -> None:
    check_slack(hostile, harmless, typed)
    check_mattermost(hostile, harmless, typed)
    check_matrix(hostile, harmless, typed)


_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", TEMPLATES)
@_SETTINGS
@given(text=hostile_texts)
def test_every_template_shows_hostile_text_as_typed(name: str, text: str) -> None:
    check_everywhere(render_template(name, text), render_template(name, HARMLESS), text)


@pytest.mark.parametrize("family", known_families())
@_SETTINGS
@given(text=hostile_texts)
def test_every_catalog_message_shows_hostile_text_as_typed(family: str, text: str) -> None:
    for fam, key, locale in MESSAGES:
        if fam == family:
            hostile = render_message(fam, key, locale, text)
            check_everywhere(hostile, render_message(fam, key, locale, HARMLESS), text)


LONG = ("Point @channel <!here> *gras* [F](https://evil.example) `x` " * 200)[:10_000]


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_with_ten_thousand_characters(name: str) -> None:
    check_everywhere(render_template(name, LONG), render_template(name, HARMLESS))


def test_what_the_property_tests_cover() -> None:
    """Enough templates and messages print user text for the tests above to mean
    something, and the hostile values do reach the output."""
    showing = [n for n in TEMPLATES if user_spans(render_template(n, "@channel"))]
    with_params = [m for m in MESSAGES if user_spans(render_message(*m, "@channel"))]
    print(
        f"\n{len(TEMPLATES)} templates ({len(showing)} print user text), "
        f"{len(MESSAGES)} catalog messages ({len(with_params)} print user text), "
        "each rendered for Slack, Mattermost and Matrix"
    )
    assert len(showing) > 150
    assert len(with_params) > 400


def test_the_harness_sees_a_forgotten_escape() -> None:
    """The checks fail on text that is not escaped: a template's own markup carrying what
    a person typed unmarked is caught on every platform."""
    raw = "Point @channel <!here> *gras* [F](https://evil.example) <@U999|x> @room"
    for check in (check_slack, check_mattermost, check_matrix):
        with pytest.raises(AssertionError):
            check(raw, "v")
