"""A ``Reply`` delivered by what the platform declares it can do (``Capabilities``).

``plan`` says where each part goes; the platform's live interface carries it out:

- a form, on a platform without forms, becomes a usage message naming its fields;
- a reply only its person may see, on a platform without ephemeral messages, goes to a
  direct conversation with that person (files too), with a short note where the command
  was typed (in its thread when the platform has threads);
- files go after the message where the message went; without files, a line says so;
- buttons, without native buttons, are rendered as choices by the platform's renderer
  (``bot.kit.choices``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.kit.port import Capabilities
from commands.messages import normalise_locale
from commands.render import message
from commands.reply import File, Form, Reply, Visibility


class Where(StrEnum):
    HERE = "here"  # where the command was typed (its thread, when there are threads)
    DIRECT = "direct"  # the direct conversation with the person


@dataclass(frozen=True)
class Step:
    where: Where
    reply: Reply
    files: list[File] = field(default_factory=list)


def form_usage(form: Form, locale: str) -> Reply:
    fields = ", ".join(f.label + ("" if f.required else " (opt.)") for f in form.fields)
    return Reply(text=message("kit.form_usage", locale, title=form.title, fields=fields))


def plan(reply: Reply, capabilities: Capabilities, *, in_direct: bool, locale: str) -> list[Step]:
    locale = normalise_locale(locale)
    if reply.form is not None and not capabilities.forms:
        usage = form_usage(reply.form, locale)
        usage.visibility = reply.visibility
        reply = usage
    files = list(reply.files)
    body = Reply(
        text=reply.text,
        visibility=reply.visibility,
        sections=reply.sections,
        buttons=reply.buttons,
        changed=reply.changed,
        errors=reply.errors,
    )
    if files and not capabilities.files:
        titles = ", ".join(f.title for f in files)
        body.text = body.text + "\n\n" + message("kit.files_left_out", locale, titles=titles)
        files = []
    private = reply.visibility == Visibility.EPHEMERAL
    if private and not capabilities.ephemeral and not in_direct:
        note = Reply(text=message("kit.sent_privately", locale), visibility=Visibility.CHANNEL)
        return [Step(Where.DIRECT, body, files), Step(Where.HERE, note)]
    return [Step(Where.HERE, body, files)]
