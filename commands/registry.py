"""The command families Coordo serves, wired explicitly."""

from __future__ import annotations

from commands import copil, expenses, home, lab, meetings, milestones, polls
from commands.core import Router


def build_router(public_url: str = meetings.DEFAULT_PUBLIC_URL) -> Router:
    """``public_url``: where people reach the web app (calendar feed addresses)."""
    router = Router()
    lab.register(router)
    milestones.register(router)
    expenses.register(router)
    meetings.register(
        router, public_url=public_url, extra=(*copil.subcommands(), *polls.subcommands())
    )
    router.add_action("poll.answer", polls.answer_action)
    home.register(router)
    return router
