"""What a PaaS reads: the Procfile's process types and the settings documented in
``.env.example``, kept in step with the code."""

from __future__ import annotations

from bot.settings import Settings
from tests.processes import ROOT, procfile


def documented_settings() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip().lstrip("# ")
        name, sep, _ = line.partition("=")
        if sep and name.isupper() and name.replace("_", "").isalnum():
            names.add(name)
    return names


def test_every_setting_is_in_the_env_example() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    assert settings <= documented_settings()


def test_the_env_example_reads_as_settings() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#") and name.lower() in Settings.model_fields:
            values[name.lower()] = value
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert settings.mattermost_command_tokens == []
    assert settings.scheduler is True


def test_the_procfile_runs_migrations_the_web_app_and_a_worker() -> None:
    kinds = procfile()
    assert kinds["release"] == "python -m bot migrate"
    assert kinds["postdeploy"] == kinds["release"]
    assert "uvicorn bot.web:create_app --factory " in kinds["web"]
    assert "--port ${PORT" in kinds["web"]
    assert "--workers ${WEB_CONCURRENCY" in kinds["web"]
    assert kinds["worker"] == "python -m bot worker"
