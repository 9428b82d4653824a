"""What Slack refuses in ``blocks`` and ``view``, checked as Slack checks it.

Two layers: slack_sdk's own Block Kit models (``Block.parse`` then ``to_dict``, which
runs ``validate_json`` on every nested object, and ``View(**view).validate_json()``),
and the documented limits those models do not enforce (a button value never empty, 50
blocks in a message, ``submit`` required with input blocks, unique ``block_id``…).

The fake Slack API answers ``invalid_blocks`` (messages, ``response_url``) or
``invalid_arguments`` (views) with the reasons in ``response_metadata.messages``, as
Slack does. Every payload checked is counted (``TALLY``), so the suite can say how many
messages and views, and how many distinct shapes of them, it validated.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_VIEW_TITLE = 24  # title, submit and close of a modal
MAX_PRIVATE_METADATA = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_MESSAGE_TEXT = 40_000

TEXT_TYPES = ("plain_text", "mrkdwn")


class Refused(Exception):
    """What Slack answers: ``error`` (``invalid_blocks``…) and the reasons it gives."""

    def __init__(self, error: str, reasons: list[str]) -> None:
        super().__init__(f"{error}: {'; '.join(reasons)}")
        self.error = error
        self.reasons = reasons


@dataclass
class Tally:
    """How many payloads were validated, and how many distinct shapes they had."""

    messages: int = 0
    views: int = 0
    refused: int = 0
    shapes: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, kind: str, shape: str) -> None:
        with self._lock:
            if kind == "view":
                self.views += 1
            else:
                self.messages += 1
            self.shapes.add(shape)

    def count_refused(self) -> None:
        with self._lock:
            self.refused += 1

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {
                "messages": self.messages,
                "views": self.views,
                "refused": self.refused,
                "shapes": len(self.shapes),
            }


TALLY = Tally()


# -- the checks ----------------------------------------------------------------------------


def check_message_blocks(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> None:
    """The ``blocks`` of ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update`` or a
    ``response_url`` payload; raises ``Refused("invalid_blocks", …)``."""
    reasons = list(_block_list_reasons(blocks, limit=limit, where="message"))
    if reasons:
        TALLY.count_refused()
        raise Refused("invalid_blocks", reasons)
    TALLY.count("message", shape_of(blocks))


def check_view(view: Any, *, expected: str | None = None) -> None:
    """A ``view`` for ``views.open``/``update``/``push`` (a modal) or ``views.publish`` (a
    Home tab); raises ``Refused("invalid_arguments", …)``."""
    reasons = list(_view_reasons(view, expected))
    if reasons:
        TALLY.count_refused()
        raise Refused("invalid_arguments", reasons)
    TALLY.count("view", str(view.get("type")) + ":" + shape_of(view.get("blocks") or []))


def check_text(text: Any) -> None:
    """A message's ``text`` (the fallback when it has blocks)."""
    if text is not None and not isinstance(text, str):
        raise Refused("invalid_arguments", ["text must be a string"])
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        raise Refused("msg_too_long", [f"text exceeds {MAX_MESSAGE_TEXT} characters"])


def shape_of(blocks: Any) -> str:
    """A short fingerprint of a payload's structure: types and keys, not the text."""

    def skeleton(value: Any) -> Any:
        if isinstance(value, dict):
            kind = value.get("type")
            return [kind, sorted((k, skeleton(v)) for k, v in value.items() if k != "type")]
        if isinstance(value, list):
            seen: list[Any] = []
            for item in value:
                s = skeleton(item)
                if s not in seen:
                    seen.append(s)
            return seen
        return type(value).__name__

    raw = json.dumps(skeleton(blocks), sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# -- blocks --------------------------------------------------------------------------------


def _block_list_reasons(blocks: Any, *, limit: int, where: str) -> Iterator[str]:
    if not isinstance(blocks, list):
        yield "blocks must be an array"
        return
    if len(blocks) > limit:
        yield f"no more than {limit} items allowed [json-pointer:/blocks]"
    block_ids: set[str] = set()
    for n, block in enumerate(blocks):
        pointer = f"[json-pointer:/blocks/{n}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            yield f"a block must be an object with a type {pointer}"
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= MAX_BLOCK_ID:
                yield f"block_id must be 1 to {MAX_BLOCK_ID} characters {pointer}"
            elif block_id in block_ids:
                yield f"duplicate block_id {block_id!r} {pointer}"
            else:
                block_ids.add(block_id)
        if block["type"] == "input" and where == "message":
            yield f"input blocks belong in modals and Home tabs {pointer}"
        yield from (f"{r} {pointer}" for r in _sdk_reasons(block))
        yield from (f"{r} {pointer}" for r in _limit_reasons(block))


def _sdk_reasons(block: dict[str, Any]) -> Iterator[str]:
    try:
        parsed = Block.parse(block)
        if parsed is None:
            yield f"unsupported block type {block.get('type')!r}"
            return
        parsed.validate_json()
        parsed.to_dict()  # validates every nested element and text object
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        yield f"{type(e).__name__}: {e}"


def _text_reasons(obj: Any, what: str, limit: int, *, plain_only: bool = False) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield f"{what} must be a text object"
        return
    kind = obj.get("type")
    if kind not in (("plain_text",) if plain_only else TEXT_TYPES):
        yield f"{what} must be of type {'plain_text' if plain_only else 'plain_text or mrkdwn'}"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield f"{what} must have a non-empty text"
    elif len(text) > limit:
        yield f"{what} must be less than {limit + 1} characters"


def _limit_reasons(block: dict[str, Any]) -> Iterator[str]:
    kind = block["type"]
    if kind == "section":
        if "text" in block:
            yield from _text_reasons(block["text"], "section text", MAX_SECTION_TEXT)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= MAX_SECTION_FIELDS:
                yield f"a section has 1 to {MAX_SECTION_FIELDS} fields"
            else:
                for f in fields:
                    yield from _text_reasons(f, "section field", MAX_FIELD_TEXT)
        if "accessory" in block:
            yield from _element_reasons(block["accessory"])
    elif kind == "header":
        yield from _text_reasons(block.get("text"), "header text", MAX_HEADER_TEXT, plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 0 < len(elements) <= MAX_ACTIONS_ELEMENTS:
            yield f"an actions block has 1 to {MAX_ACTIONS_ELEMENTS} elements"
            return
        action_ids = [e.get("action_id") for e in elements if isinstance(e, dict)]
        if len(set(action_ids)) != len(action_ids):
            yield "action_id must be unique within a block"
        for element in elements:
            yield from _element_reasons(element)
    elif kind == "context":
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") in TEXT_TYPES:
                yield from _text_reasons(element, "context text", MAX_SECTION_TEXT)
    elif kind == "input":
        yield from _text_reasons(block.get("label"), "input label", MAX_LABEL, plain_only=True)
        yield from _element_reasons(block.get("element"))


def _element_reasons(element: Any) -> Iterator[str]:
    if not isinstance(element, dict):
        yield "an element must be an object"
        return
    kind = element.get("type")
    action_id = element.get("action_id")
    if action_id is not None and (
        not isinstance(action_id, str) or not 0 < len(action_id) <= MAX_ACTION_ID
    ):
        yield f"action_id must be 1 to {MAX_ACTION_ID} characters"
    if "placeholder" in element:
        yield from _text_reasons(
            element["placeholder"], "placeholder", MAX_PLACEHOLDER, plain_only=True
        )
    if kind == "button":
        yield from _text_reasons(element.get("text"), "button text", MAX_BUTTON_TEXT)
        if "value" in element:
            value = element["value"]
            if not isinstance(value, str) or not value:
                yield "button value must be more than 0 characters"
            elif len(value) > MAX_BUTTON_VALUE:
                yield f"button value must be less than {MAX_BUTTON_VALUE + 1} characters"
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes"):
        options = element.get("options")
        if not isinstance(options, list) or not 0 < len(options) <= MAX_OPTIONS:
            yield f"a select has 1 to {MAX_OPTIONS} options"
            return
        for option in options:
            if not isinstance(option, dict):
                yield "an option must be an object"
                continue
            yield from _text_reasons(option.get("text"), "option text", MAX_OPTION_TEXT)
            value = option.get("value")
            if not isinstance(value, str) or not 0 < len(value) <= MAX_OPTION_VALUE:
                yield f"option value must be 1 to {MAX_OPTION_VALUE} characters"
        initial = element.get("initial_option")
        if initial is not None and initial not in options:
            yield "initial_option must be one of the options"


# -- views ---------------------------------------------------------------------------------


def _view_reasons(view: Any, expected: str | None) -> Iterator[str]:
    if not isinstance(view, dict):
        yield "view must be an object"
        return
    kind = view.get("type")
    if kind not in ("modal", "home"):
        yield "view type must be modal or home [json-pointer:/view/type]"
        return
    if expected is not None and kind != expected:
        yield f"a {expected} view is expected here [json-pointer:/view/type]"
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as e:
        yield f"{type(e).__name__}: {e}"
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal":
        yield from _text_reasons(view.get("title"), "title", MAX_VIEW_TITLE, plain_only=True)
        for name in ("submit", "close"):
            if name in view:
                yield from _text_reasons(view[name], name, MAX_VIEW_TITLE, plain_only=True)
        if has_input and "submit" not in view:
            yield "submit is required when an input block is within the blocks array"
    elif "submit" in view or "close" in view:
        yield "a home view has neither submit nor close"
    metadata = view.get("private_metadata")
    if metadata is not None and (
        not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA
    ):
        yield f"private_metadata must be at most {MAX_PRIVATE_METADATA} characters"
    yield from (
        r.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
        for r in _block_list_reasons(blocks, limit=MAX_VIEW_BLOCKS, where="view")
    )
