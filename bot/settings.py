"""Settings, read once from the environment (and a ``.env`` file) in ``main()``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///coordo.db"
    port: int = 8000
    host: str = "0.0.0.0"
    # The public address of the web app, for links (calendar feeds, Mattermost buttons).
    public_url: str = "http://localhost:8000"
    log_level: str = "INFO"
    exports_dir: Path = Path("exports")

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Many workspaces ("Add to Slack"): the app's OAuth client; each workspace installs
    # Coordo at PUBLIC_URL/slack/install and its bot token is kept in the database. Set,
    # with the signing secret, they take the place of SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_authorization_url: str = "https://slack.com/oauth/v2/authorize"

    mattermost_url: str | None = None
    mattermost_bot_token: str | None = None
    # One token per slash command configured in Mattermost, each with its trigger word:
    # ``labo:<token>,depense:<token>``. A bare token is for every command, and only alone.
    mattermost_command_tokens: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Matrix (and Tchap): the bot's account, by access token or by a password used once (the
    # token and device it gets are kept in the data folder, with the encryption keys).
    matrix_homeserver: str | None = None
    matrix_user_id: str | None = None
    matrix_access_token: str | None = None
    matrix_password: str | None = None
    matrix_data_dir: Path = Path("matrix-data")
    # People (``@pat:example.org``) or whole homeservers (``partner.example.org``) whose
    # users are partners; users of another homeserver than the bot's always are.
    matrix_partners: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Seconds between two requests of the bot (Tchap asks for about one a second).
    matrix_pacing: float = 1.0
    # Run the Matrix connector in this process (serve and worker do when Matrix is set).
    matrix_connector: bool = True

    # Run the scheduler in this process (serve and console do, for a small lab).
    scheduler: bool = True

    @field_validator("mattermost_command_tokens", "matrix_partners", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value

    @field_validator("mattermost_command_tokens", mode="after")
    @classmethod
    def _one_token_per_command(cls, value: list[str]) -> list[str]:
        bare = [t for t in value if not _token_pair(t)[0]]
        if bare and len(value) > 1:
            raise ValueError(
                "with several commands, give each token its trigger word: "
                "labo:<token>,depense:<token>"
            )
        return value

    def mattermost_token_pairs(self) -> list[tuple[str | None, str]]:
        """(trigger word, token) for each configured command; the word is None for a bare
        token, which then authorises every trigger word (a single command)."""
        return [(t.word, t.token) for t in self.mattermost_command_entries()]

    def mattermost_command_entries(self) -> list[CommandToken]:
        """Each configured command's token, with its trigger word and, when given
        (``labo@<team id>:<token>``), the one team it speaks for."""
        return [_token_entry(entry) for entry in self.mattermost_command_tokens]


@dataclass(frozen=True)
class CommandToken:
    """A Mattermost slash command's token: ``word`` None for a bare token (every trigger
    word), ``team`` None when any team of the server may send it."""

    word: str | None
    token: str
    team: str | None = None


def _token_pair(entry: str) -> tuple[str | None, str]:
    found = _token_entry(entry)
    return found.word, found.token


def _token_entry(entry: str) -> CommandToken:
    head, sep, token = entry.partition(":")
    if sep and head.strip() and token.strip():
        word, _, team = head.strip().partition("@")
        return CommandToken(word.strip().lstrip("/").lower(), token.strip(), team.strip() or None)
    return CommandToken(None, entry.strip())


def configure_logging(settings: Settings) -> None:
    """``LOG_LEVEL`` for Coordo's loggers and the web server's access log alike (under
    uvicorn, one line per request at INFO; ``WARNING`` silences it)."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").setLevel(level)
