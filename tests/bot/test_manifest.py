"""The Slack app manifest declares what the code uses: every command word, the scopes
of the calls Coordo makes, interactivity and the events it listens to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.web import SLACK_EVENTS_PATH
from commands.registry import build_router

MANIFEST = Path(__file__).resolve().parents[2] / "bot" / "manifest.yml"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text("utf-8"))
    return data


def test_every_family_has_its_slash_commands() -> None:
    commands = manifest()["features"]["slash_commands"]
    names = {c["command"] for c in commands}

    assert {
        "/labo",
        "/lab",
        "/depense",
        "/expense",
        "/jalon",
        "/milestone",
        "/copil",
        "/meeting",
    } <= names
    for family in build_router().families.values():
        for language in ("fr", "en"):
            spelled = {"/" + w for w, lang in family.words.items() if lang in (language, "")}
            assert spelled & names, f"no {language} slash command for {family.name}"
    assert 1 <= len(commands) <= 50
    for command in commands:
        assert command["url"].endswith(SLACK_EVENTS_PATH)
        assert command["should_escape"] is True  # mentions come with their user ids
        assert len(command["description"]) <= 100
        assert len(command.get("usage_hint", "")) <= 100


def test_interactivity_events_and_scopes() -> None:
    data = manifest()
    settings = data["settings"]

    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(SLACK_EVENTS_PATH)
    assert settings["event_subscriptions"]["request_url"].endswith(SLACK_EVENTS_PATH)
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    # users.info, conversations.info/open, chat.postMessage/postEphemeral, files_upload_v2
    assert {
        "commands",
        "chat:write",
        "chat:write.public",
        "im:write",
        "files:write",
        "users:read",
        "channels:read",
        "groups:read",
        # conversations.history, after a send in doubt
        "channels:history",
        "groups:history",
        "im:history",
    } <= scopes
    assert len(data["display_information"]["long_description"]) >= 175
