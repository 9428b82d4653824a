"""What a Mattermost server checks in what an integration sends it, ported from its Go
source so the fake refuses what the real server refuses (or shows broken).

Each function names the Go file it ports (``post.go``, ``slack_attachment.go``,
``integration_action.go``, ``command_response.go``, ``command_webhook.go``, ``action.go``).
Lengths are counted as the server counts them: ``len()`` of a Go string is its UTF-8
bytes (dialog titles and element labels), ``utf8.RuneCountInString`` its code points
(a post's message and props), which is what ``len()`` of a Python ``str`` gives.

Where the server itself only logs a warning (``Post.ValidateProps`` for attachments and
actions, ``OpenInteractiveDialog`` for ``Dialog.IsValid``), what it lets through renders
broken or not at all in the web app: the fake refuses it, so the test sees it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# post.go
POST_MESSAGE_MAX_RUNES = 65_535 // 4  # PostMessageMaxRunesV2: 16,383
POST_PROPS_MAX_RUNES = 800_000  # PostPropsMaxRunes
POST_FILEIDS_MAX_RUNES = 300  # PostFileidsMaxRunes
# integration_action.go
DIALOG_TITLE_MAX_BYTES = 24
DIALOG_ELEMENT_DISPLAY_NAME_MAX_BYTES = 24
DIALOG_ELEMENT_NAME_MAX_BYTES = 300
DIALOG_ELEMENT_HELP_TEXT_MAX_BYTES = 150
DIALOG_ELEMENT_TEXT_MAX_BYTES = 150
DIALOG_ELEMENT_TEXTAREA_MAX_BYTES = 3000
DIALOG_ELEMENT_SELECT_MAX_BYTES = 3000
DIALOG_ELEMENT_BOOL_MAX_BYTES = 150
TEXT_SUBTYPES = frozenset({"", "text", "email", "number", "tel", "url", "password"})
SELECT_DATA_SOURCES = frozenset({"", "users", "channels", "dynamic"})
ACTION_STYLES = frozenset({"default", "primary", "success", "good", "warning", "danger"})
ATTACHMENT_COLORS = frozenset({"good", "warning", "danger"})
# A trigger id is good for this long (older servers' InteractiveDialogTriggerTimeout;
# newer ones allow OutgoingIntegrationRequestsTimeout, 30 s by default: the fake keeps
# the stricter figure).
TRIGGER_ID_LIFETIME = 3.0
# command_webhook.go: CommandWebhookLifetime and the TryUse limit of command.go.
RESPONSE_URL_LIFETIME = 30 * 60.0
RESPONSE_URL_MAX_USES = 5
# action.go: the route a click goes through is /posts/{id}/actions/{action_id:[A-Za-z0-9]+}.
ACTION_ID = re.compile(r"[A-Za-z0-9]+")
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

# How many payloads of each shape went through these rules in this process (a post: one
# the fake was asked to create; printed by
# bench/mattermost_strictness.py).
CHECKED: Counter[str] = Counter()


@dataclass(frozen=True)
class Refusal(Exception):
    """What the server answers: an HTTP status, its error id, and the problems found."""

    status: int
    error_id: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.error_id}: {'; '.join(self.problems)}"


def utf8_length(text: str) -> int:
    """``len(s)`` in Go: bytes."""
    return len(text.encode("utf-8"))


def is_valid_http_url(url: str) -> bool:
    """``IsValidHTTPURL`` (utils.go): http or https with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# -- posts -----------------------------------------------------------------------------


def post_problems(message: str, props: dict[str, Any], file_ids: list[Any]) -> Refusal | None:
    """``Post.IsValid`` (post.go) on what an integration controls, then
    ``propsIsValid`` (post.go: attachments and their actions)."""
    if len(message) > POST_MESSAGE_MAX_RUNES:
        return Refusal(
            400,
            "model.post.is_valid.message_length.app_error",
            (f"message of {len(message)} runes, at most {POST_MESSAGE_MAX_RUNES}",),
        )
    if len(json.dumps(file_ids, separators=(",", ":"))) > POST_FILEIDS_MAX_RUNES:
        return Refusal(400, "model.post.is_valid.file_ids.app_error", ("too many file ids",))
    if len(json.dumps(props, separators=(",", ":"), ensure_ascii=False)) > POST_PROPS_MAX_RUNES:
        return Refusal(400, "model.post.is_valid.props.app_error", ("props too large",))
    problems = props_problems(props)
    if problems:
        return Refusal(400, "model.post.is_valid.props.app_error", tuple(problems))
    return None


def props_problems(props: dict[str, Any]) -> list[str]:
    """``propsIsValid`` (post.go), for the props Coordo may send."""
    problems: list[str] = []
    attachments = props.get("attachments")
    if attachments is None:
        return problems
    if not isinstance(attachments, list):
        return ["attachments must be a list"]
    action_ids: set[str] = set()
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            problems.append(f"attachment {i} is not an object")
            continue
        problems.extend(f"attachment {i}: {p}" for p in attachment_problems(attachment))
        for action in attachment.get("actions") or []:
            action_id = _str(action.get("id")) if isinstance(action, dict) else ""
            if action_id and action_id in action_ids:
                # The click goes to the first action with that id (Post.GetAction).
                problems.append(f"attachment {i}: action id {action_id!r} used twice")
            action_ids.add(action_id)
    return problems


def attachment_problems(attachment: dict[str, Any]) -> list[str]:
    """``SlackAttachment.IsValid`` (slack_attachment.go)."""
    problems: list[str] = []
    color = _str(attachment.get("color"))
    if color and color not in ATTACHMENT_COLORS and not _HEX_COLOR.fullmatch(color):
        problems.append(f"invalid color {color!r}")
    for link, owner in (("author_link", "author_name"), ("title_link", "title")):
        if attachment.get(link):
            if not attachment.get(owner):
                problems.append(f"{link} cannot be set without {owner}")
            if not is_valid_http_url(_str(attachment.get(link))):
                problems.append(f"invalid {link}")
    for key in ("author_icon", "image_url", "thumb_url", "footer_icon"):
        if attachment.get(key) and not is_valid_http_url(_str(attachment.get(key))):
            problems.append(f"invalid {key}")
    for text_key in ("fallback", "pretext", "title", "text", "footer", "author_name"):
        if text_key in attachment and not isinstance(attachment[text_key], str | None):
            problems.append(f"{text_key} must be a string")
    fields = attachment.get("fields") or []
    if not isinstance(fields, list):
        problems.append("fields must be a list")
        fields = []
    for j, field in enumerate(fields):
        # SlackAttachmentField.IsValid: a value is a string or an int; decoded from JSON
        # by Go into ``any``, a number is a float64, so only a string passes.
        if not isinstance(field, dict):
            problems.append(f"field {j} is not an object")
        elif field.get("value") is not None and not isinstance(field["value"], str):
            problems.append(f"field {j}: value must be a string")
        elif field.get("title") is not None and not isinstance(field["title"], str):
            problems.append(f"field {j}: title must be a string")
    if attachment.get("ts") is not None and not isinstance(attachment["ts"], str):
        problems.append("ts must be a string (a JSON number decodes as a float)")
    actions = attachment.get("actions") or []
    if not isinstance(actions, list):
        return [*problems, "actions must be a list"]
    for k, action in enumerate(actions):
        if not isinstance(action, dict):
            problems.append(f"action {k} is not an object")
            continue
        problems.extend(f"action {k}: {p}" for p in action_problems(action))
    return problems


def action_problems(action: dict[str, Any]) -> list[str]:
    """``PostAction.IsValid`` (integration_action.go), and the action id the click route
    of action.go accepts (letters and digits only, else the click is a 404)."""
    problems: list[str] = []
    action_id = action.get("id")
    if action_id is not None and (
        not isinstance(action_id, str) or (action_id and not ACTION_ID.fullmatch(action_id))
    ):
        problems.append(f"id {action_id!r} is not letters and digits: clicks would get 404")
    if not _str(action.get("name")):
        problems.append("action must have a name")
    style = _str(action.get("style"))
    if style and style not in ACTION_STYLES and not _HEX_COLOR.fullmatch(style):
        problems.append(f"invalid style {style!r}")
    kind = action.get("type")
    options = action.get("options") or []
    source = _str(action.get("data_source"))
    if kind == "button":
        if options:
            problems.append("button action must not have options")
        if source:
            problems.append("button action must not have a data source")
    elif kind == "select":
        if source:
            if source not in ("users", "channels"):
                problems.append(f"invalid data_source {source!r} for select action")
            if options:
                problems.append("select action cannot have both DataSource and Options set")
        elif not options:
            problems.append("select action must have either DataSource or Options set")
        else:
            for i, option in enumerate(options):
                problems.extend(f"option {i}: {p}" for p in option_problems(option))
    else:
        problems.append("invalid action type: must be 'button' or 'select'")
    integration = action.get("integration")
    if not isinstance(integration, dict):
        problems.append("action must have integration settings")
    else:
        url = _str(integration.get("url"))
        if not url:
            problems.append("action must have an integration URL")
        if not (url.startswith(("/plugins/", "plugins/")) or is_valid_http_url(url)):
            problems.append("action must have an valid integration URL")
    return problems


def option_problems(option: Any) -> list[str]:
    """``PostActionOptions.IsValid`` (integration_action.go)."""
    if not isinstance(option, dict):
        return ["option is not an object"]
    problems = []
    if not _str(option.get("text")):
        problems.append("text is required")
    if not _str(option.get("value")):
        problems.append("value is required")
    return problems


# -- dialogs ---------------------------------------------------------------------------


def open_dialog_problems(request: Any) -> list[str]:
    """``OpenDialogRequest.IsValid`` and ``Dialog.IsValid`` (integration_action.go)."""
    if not isinstance(request, dict):
        return ["the body is not an object"]
    problems: list[str] = []
    if not _str(request.get("url")):
        problems.append("empty URL")
    if not _str(request.get("trigger_id")):
        problems.append("empty trigger id")
    dialog = request.get("dialog")
    if not isinstance(dialog, dict):
        return [*problems, "dialog is not an object"]
    return problems + dialog_problems(dialog)


def dialog_problems(dialog: dict[str, Any]) -> list[str]:
    """``Dialog.IsValid`` (integration_action.go): the title 1 to 24 bytes, element names
    unique, each element valid."""
    CHECKED["dialog"] += 1
    problems: list[str] = []
    title = _str(dialog.get("title"))
    if not title or utf8_length(title) > DIALOG_TITLE_MAX_BYTES:
        problems.append(f"invalid dialog title {title!r} ({utf8_length(title)} bytes)")
    icon = _str(dialog.get("icon_url"))
    if icon and not is_valid_http_url(icon):
        problems.append("invalid icon url")
    for key in ("callback_id", "introduction_text", "submit_label", "state"):
        if dialog.get(key) is not None and not isinstance(dialog[key], str):
            problems.append(f"{key} must be a string")
    elements = dialog.get("elements") or []
    if not isinstance(elements, list):
        return [*problems, "elements must be a list"]
    seen: set[str] = set()
    for element in elements:
        if not isinstance(element, dict):
            problems.append("an element is not an object")
            continue
        name = _str(element.get("name"))
        if name in seen:
            problems.append(f"duplicate dialog element {name!r}")
        seen.add(name)
        problems.extend(f"{name!r} field is not valid: {p}" for p in element_problems(element))
    return problems


def _check_max(label: str, value: str, limit: int, *, required: bool = False) -> list[str]:
    """``checkMaxLength`` (integration_action.go): bytes; DisplayName and Name required."""
    if required and not value:
        return [f"{label} cannot be empty"]
    if utf8_length(value) > limit:
        return [f"{label} cannot be longer than {limit} characters, got {utf8_length(value)}"]
    return []


def element_problems(element: dict[str, Any]) -> list[str]:
    """``DialogElement.IsValid`` (integration_action.go)."""
    problems: list[str] = []
    for key in ("display_name", "name", "type", "subtype", "default", "placeholder"):
        if element.get(key) is not None and not isinstance(element[key], str):
            problems.append(f"{key} must be a string (Go cannot decode it)")
    for key in ("min_length", "max_length"):
        if element.get(key) is not None and (
            not isinstance(element[key], int) or isinstance(element[key], bool)
        ):
            problems.append(f"{key} must be an integer")
    if problems:
        return problems
    min_length = int(element.get("min_length") or 0)
    max_length = int(element.get("max_length") or 0)
    if min_length < 0:
        problems.append(f"min length cannot be a negative number, got {min_length}")
    if min_length > max_length:
        problems.append(
            f"min length should be less then max length, got {min_length} > {max_length}"
        )
    display = _str(element.get("display_name"))
    problems += _check_max(
        "DisplayName", display, DIALOG_ELEMENT_DISPLAY_NAME_MAX_BYTES, required=True
    )
    problems += _check_max(
        "Name", _str(element.get("name")), DIALOG_ELEMENT_NAME_MAX_BYTES, required=True
    )
    problems += _check_max(
        "HelpText", _str(element.get("help_text")), DIALOG_ELEMENT_HELP_TEXT_MAX_BYTES
    )
    kind = _str(element.get("type"))
    if element.get("multiselect") and kind != "select":
        problems.append(f"multiselect can only be used with select elements, got type {kind!r}")
    default = _str(element.get("default"))
    placeholder = _str(element.get("placeholder"))
    options = element.get("options") or []
    values = {_str(o.get("value")) for o in options if isinstance(o, dict)}
    if kind in ("text", "textarea"):
        limit = (
            DIALOG_ELEMENT_TEXT_MAX_BYTES if kind == "text" else DIALOG_ELEMENT_TEXTAREA_MAX_BYTES
        )
        problems += _check_max("Default", default, limit)
        problems += _check_max("Placeholder", placeholder, limit)
        if _str(element.get("subtype")) not in TEXT_SUBTYPES:
            problems.append(f"invalid subtype {element.get('subtype')!r}")
    elif kind == "select":
        problems += _check_max("Default", default, DIALOG_ELEMENT_SELECT_MAX_BYTES)
        problems += _check_max("Placeholder", placeholder, DIALOG_ELEMENT_SELECT_MAX_BYTES)
        source = _str(element.get("data_source"))
        if source not in SELECT_DATA_SOURCES:
            problems.append(f"invalid data source {source!r}")
        elif source == "dynamic":
            if not _str(element.get("data_source_url")):
                problems.append("dynamic data_source requires data_source_url")
            if options:
                problems.append("dynamic select element should not have static options")
        elif source == "":
            chosen = (
                default.replace(" ", "").split(",") if element.get("multiselect") else [default]
            )
            if any(v and v not in values for v in chosen):
                problems.append(f"default value {default!r} doesn't exist in options")
    elif kind == "bool":
        if default not in ("", "true", "false"):
            problems.append("invalid default of bool")
        problems += _check_max("Placeholder", placeholder, DIALOG_ELEMENT_BOOL_MAX_BYTES)
    elif kind == "radio":
        if default and default not in values:
            problems.append(f"default value {default!r} doesn't exist in options")
    elif kind in ("date", "datetime"):
        problems += _check_max("Default", default, DIALOG_ELEMENT_TEXT_MAX_BYTES)
        problems += _check_max("Placeholder", placeholder, DIALOG_ELEMENT_TEXT_MAX_BYTES)
    else:
        problems.append(f"invalid element type: {kind!r}")
    for i, option in enumerate(options):
        # The web app lists an option by its text and sends its value back.
        problems.extend(f"option {i}: {p}" for p in option_problems(option))
    return problems


# -- command responses -------------------------------------------------------------------

_RESPONSE_STRINGS = (
    "response_type",
    "text",
    "username",
    "channel_id",
    "icon_url",
    "type",
    "goto_location",
    "trigger_id",
)


def parse_command_response(content_type: str, body: bytes) -> dict[str, Any]:
    """``CommandResponseFromHTTPBody`` (command_response.go): JSON when the content type
    is ``application/json``, else the body is the text. Fields Go cannot decode into the
    ``CommandResponse`` struct make the whole answer an error; the response type must be
    ``in_channel`` or ``ephemeral`` (empty meaning ephemeral), and what becomes a post
    passes ``Post.IsValid``. Raises ``Refusal``."""
    CHECKED["command response"] += 1
    if content_type.split(";")[0].strip().lower() != "application/json":
        return {"text": body.decode("utf-8", errors="replace")}
    try:
        data = json.loads(body)
    except ValueError as e:
        raise Refusal(400, "api.command.execute_command.failed.app_error", (str(e),)) from e
    if not isinstance(data, dict):
        raise Refusal(400, "api.command.execute_command.failed.app_error", ("not an object",))
    problems = command_response_problems(data)
    if problems:
        raise Refusal(400, "api.command.execute_command.failed.app_error", tuple(problems))
    return data


def command_response_problems(data: dict[str, Any], *, nested: bool = False) -> list[str]:
    problems = [
        f"{key} must be a string"
        for key in _RESPONSE_STRINGS
        if data.get(key) is not None and not isinstance(data[key], str)
    ]
    if data.get("skip_slack_parsing") is not None and not isinstance(
        data["skip_slack_parsing"], bool
    ):
        problems.append("skip_slack_parsing must be a boolean")
    if data.get("props") is not None and not isinstance(data["props"], dict):
        problems.append("props must be an object")
    if problems:
        return problems
    if data.get("response_type") not in (None, "", "in_channel", "ephemeral"):
        problems.append(f"unknown response_type {data['response_type']!r}")
    attachments = data.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        return [*problems, "attachments must be a list"]
    props = dict(data.get("props") or {})
    if attachments:
        props["attachments"] = _stringify_fields(attachments)
    refusal = post_problems(_str(data.get("text")), props, [])
    if refusal is not None:
        problems.extend(refusal.problems)
    extra = data.get("extra_responses")
    if extra is not None:
        if nested or not isinstance(extra, list):
            problems.append("extra_responses must be a list of responses")
        else:
            for response in extra:
                if isinstance(response, dict):
                    problems.extend(command_response_problems(response, nested=True))
                else:
                    problems.append("an extra response is not an object")
    return problems


def action_response_problems(data: Any) -> list[str]:
    """``PostActionIntegrationResponse`` (integration_action.go): ``update`` a post (its
    message and props pass ``Post.IsValid``), ``ephemeral_text`` a string."""
    CHECKED["action response"] += 1
    if not isinstance(data, dict):
        return ["not an object"]
    problems = []
    if data.get("ephemeral_text") is not None and not isinstance(data["ephemeral_text"], str):
        problems.append("ephemeral_text must be a string")
    update = data.get("update")
    if update is not None:
        if not isinstance(update, dict) or not isinstance(update.get("props") or {}, dict):
            return [*problems, "update must be a post"]
        refusal = post_problems(_str(update.get("message")), dict(update.get("props") or {}), [])
        if refusal is not None:
            problems.extend(refusal.problems)
    return problems


def dialog_response_problems(data: Any) -> list[str]:
    """``SubmitDialogResponse.IsValid`` (integration_action.go): errors, or a type among
    "", ok, form (with a valid form) and navigate."""
    CHECKED["dialog response"] += 1
    if not isinstance(data, dict):
        return ["not an object"]
    errors = data.get("errors")
    if errors is not None and (
        not isinstance(errors, dict) or not all(isinstance(v, str) for v in errors.values())
    ):
        return ["errors must map field names to strings"]
    if data.get("error") is not None and not isinstance(data["error"], str):
        return ["error must be a string"]
    if data.get("error") or errors:
        return []
    kind = data.get("type") or ""
    if kind not in ("", "ok", "form", "navigate"):
        return [f"invalid type {kind!r}"]
    if kind == "form":
        form = data.get("form")
        return dialog_problems(form) if isinstance(form, dict) else ["form type needs a form"]
    return [] if data.get("form") is None else [f"form must be absent for type {kind!r}"]


def _stringify_fields(attachments: list[Any]) -> list[Any]:
    """``StringifySlackFieldValue`` (slack_attachment.go): a command response's field
    values become strings before anything checks them."""
    out = []
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("fields"), list):
            fields = [
                {**f, "value": _go_string(f["value"])}
                if isinstance(f, dict) and f.get("value") is not None
                else f
                for f in attachment["fields"]
                if f is not None
            ]
            attachment = {**attachment, "fields": fields}
        out.append(attachment)
    return out


def _go_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)
