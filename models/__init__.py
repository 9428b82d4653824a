"""Coordo's tables and database. Nothing here knows of Slack, Mattermost or commands."""

from models.audit import AuditEvent
from models.base import Platform, Role, pk
from models.budget import BudgetLine, Expense
from models.copil import Attendance, CalendarFeed, DatePoll, PollAnswer, PollInvitee, PollSlot
from models.due import RECOMPUTE
from models.installations import INSTALLATIONS, OAUTH_STATES
from models.lab import ChannelBinding, Experiment, Membership, Person, Workspace
from models.ledger import (
    Allocation,
    ExperimentFinance,
    Funder,
    LedgerEntry,
    LineNature,
    Supplier,
)
from models.meetings import AgendaItem, Decision, Invitation, Meeting
from models.milestones import Milestone, MilestoneOwner
from models.outbox import NotificationPreference, OutboxMessage, RequestReceipt

__all__ = [
    "INSTALLATIONS",
    "OAUTH_STATES",
    "RECOMPUTE",
    "AgendaItem",
    "Allocation",
    "Attendance",
    "AuditEvent",
    "BudgetLine",
    "CalendarFeed",
    "ChannelBinding",
    "DatePoll",
    "Decision",
    "Expense",
    "Experiment",
    "ExperimentFinance",
    "Funder",
    "Invitation",
    "LedgerEntry",
    "LineNature",
    "Meeting",
    "Membership",
    "Milestone",
    "MilestoneOwner",
    "NotificationPreference",
    "OutboxMessage",
    "Person",
    "Platform",
    "PollAnswer",
    "PollInvitee",
    "PollSlot",
    "RequestReceipt",
    "Role",
    "Supplier",
    "Workspace",
    "pk",
]
