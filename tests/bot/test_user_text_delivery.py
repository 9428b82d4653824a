"""What a partner typed, delivered by the real scan, outbox and sender to the fake Slack
and Mattermost servers: shown as typed, notifying nobody. A person named in a command
(``@marie`` as owner) still gets a real mention.

See ``tests/platforms/test_escaping.py`` for every template and catalog message.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import Engine
from sqlmodel import Session

from bot.mattermost.client import MattermostChat
from bot.mattermost.render import to_mattermost
from bot.sender import Sender
from bot.slack.client import SlackChat
from bot.slack.render import to_slack
from bot.text import ZWSP
from commands.invocation import ChannelInfo, Invocation, UserRef, WorkspaceRef
from commands.registry import build_router
from models import AgendaItem, Meeting, pk
from tests.fakes.mattermost_api import FakeMattermost
from tests.fakes.slack_api import FakeSlack
from tests.lab import TEAM_CHANNEL, Lab, build_lab, paris, seat_on_mattermost, slack_workspace

ITEMS = (
    "Point @channel urgent",
    "<!here> relisez [Facture](https://evil.example/f) avant <@U0CAMILLE|camille>, *vite*",
)
# The day before the sitting, in working hours: the reminder with the agenda is due.
THE_DAY_BEFORE = paris(2026, 12, 3, 14)


def sitting_with_partner_items(lab: Lab) -> None:
    """A COPIL tomorrow in the team's channel, its agenda proposed by the partner."""
    with Session(lab.engine) as session:
        meeting = Meeting(
            workspace_id=lab.workspace_id,
            experiment_id=lab.experiment_id,
            kind="copil",
            title="COPIL de décembre",
            starts_at=paris(2026, 12, 4, 14),
            ends_at=paris(2026, 12, 4, 16),
            uid="copil-decembre@coordo.test",
            channel_id=TEAM_CHANNEL,
            organizer_id=lab.people["camille"],
        )
        session.add(meeting)
        session.flush()
        for position, title in enumerate(ITEMS, 1):
            session.add(
                AgendaItem(
                    meeting_id=pk(meeting),
                    position=position,
                    title=title,
                    author_id=lab.people["elu"],
                )
            )
        session.commit()


def slack_read(text: str) -> str:
    """What Slack shows of mrkdwn that has no entity left: the three escapes undone."""
    text = text.replace(ZWSP, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def deliver(lab: Lab, chats: dict[str, object], **options: object) -> None:
    lab.scan(THE_DAY_BEFORE)
    sender = Sender(
        lab.engine,
        chats,  # type: ignore[arg-type]
        clock=lambda: THE_DAY_BEFORE,
        concurrency=1,
        pacing={},
        **options,  # type: ignore[arg-type]
    )
    assert sender.run_once(wait=False).sent >= 1


def test_a_partners_items_reach_the_team_channel_on_slack_and_ping_nobody(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    lab = build_lab(engine)
    slack_workspace(fake_slack)
    sitting_with_partner_items(lab)
    deliver(
        lab,
        {"slack": SlackChat(fake_slack.token, base_url=fake_slack.api_url)},
        renderers={"slack": to_slack},
    )

    [reminder] = [m for m in fake_slack.messages_in(TEAM_CHANNEL) if "COPIL" in (m.text or "")]
    shown = [reminder.text or ""] + [
        b["text"]["text"] for b in reminder.blocks or [] if b.get("text", {}).get("type")
    ]
    for text in shown:
        # No special mention, no user mention, no link: no entity at all.
        assert re.findall(r"<[^>]*>", text) == []
        assert "@channel" not in text
    body = slack_read("\n".join(shown[1:]))
    for item in ITEMS:
        assert item in body
    # Nor formatting: the partner's stars are kept apart from the word they surround.
    assert "*vite*" not in "\n".join(shown)


def test_a_partners_items_reach_the_team_channel_on_mattermost_and_ping_nobody(
    engine: Engine, fake_mattermost: FakeMattermost
) -> None:
    lab = build_lab(engine, platform="mattermost")
    seat_on_mattermost(fake_mattermost)
    sitting_with_partner_items(lab)
    deliver(
        lab,
        {"mattermost": MattermostChat(fake_mattermost.url, fake_mattermost.token)},
        renderers={"mattermost": lambda reply, team: to_mattermost(reply, None, team_id=team)},
    )

    [post] = [
        p
        for p in fake_mattermost.posts
        if p["channel_id"] == TEAM_CHANNEL and "COPIL" in p["message"]
    ]
    message = post["message"]
    # The server notifies on ``@word`` and reads ``<!here>`` the Slack way: neither is left.
    assert re.findall(r"@\w+", message) == []
    assert "<!" not in message
    tokens = [t for block in MarkdownIt("commonmark").parse(message) for t in block.children or []]
    assert not [t for t in tokens if t.type in ("link_open", "em_open", "html_inline")]
    shown = "".join(t.content for t in tokens if t.type == "text").replace(ZWSP, "")
    for item in ITEMS:
        assert item in shown


@pytest.mark.parametrize("platform", ["slack", "mattermost"])
def test_an_owner_named_in_the_command_is_really_mentioned(engine: Engine, platform: str) -> None:
    lab = build_lab(engine, platform=platform)
    invocation = Invocation(
        workspace=WorkspaceRef(platform, "T0LAB", "Labo 93"),
        channel=ChannelInfo(TEAM_CHANNEL, "bondy"),
        user=UserRef("U0CAMILLE", "camille", "Camille"),
        command="jalon",
        text="Point <!here> *urgent* avec les élus pour:15/01 resp:@marie",
        now=THE_DAY_BEFORE,
        mentioned_ids={"marie": "U0MARIE"},
    )
    reply = build_router().dispatch(lab.engine, invocation)
    assert "<@U0MARIE|marie>" in reply.text
    if platform == "slack":
        message = to_slack(reply)
        blocks = " ".join(b["text"]["text"] for b in message.blocks or [] if "text" in b)
        assert "<@U0MARIE>" in blocks  # the owner, mentioned
        assert re.findall(r"<[^>]*>", blocks) == ["<@U0MARIE>"]  # and nobody else
        assert "&lt;!here" in blocks  # the title, shown as typed
    else:
        text = to_mattermost(reply).text
        assert re.findall(r"@\w+", text) == ["@marie"]
        assert "<!" not in text
        assert "\\<\u200b\\!here\\>" in text
