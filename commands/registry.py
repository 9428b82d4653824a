"""The command families Coordo serves, wired explicitly."""

from __future__ import annotations

from commands import expenses, home, lab, milestones
from commands.core import Router


def build_router() -> Router:
    router = Router()
    lab.register(router)
    milestones.register(router)
    expenses.register(router)
    home.register(router)
    return router
