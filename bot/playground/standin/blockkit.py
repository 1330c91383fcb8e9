"""Block Kit validation the way Slack does it, on raw dicts.

slack_sdk's models check most limits, but only when objects are built, and they quietly
accept things Slack refuses (a bare string where a text object is required, unknown block
types, more than 50 blocks in a message). Every function here returns a list of error
strings in Slack's style (`"... [json-pointer:/blocks/0/text]"`); empty means valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100

TEXT_OBJECT_TYPES = {"plain_text", "mrkdwn"}
# Keys that hold a text object (never a bare string) in the classic blocks and elements.
TEXT_OBJECT_KEYS = {"text", "label", "placeholder", "hint", "title", "description"}
# Block types whose text fields we know well enough to check; others go to slack_sdk only.
CLASSIC_BLOCK_TYPES = {"section", "header", "context", "actions", "input", "image", "video"}
# Subtrees with their own text rules (rich text has {"type": "text", "text": "..."}).
OPAQUE_TYPES = {"rich_text", "markdown", "table"}


def block_errors(blocks: Any, *, limit: int = MESSAGE_BLOCK_LIMIT, pointer: str = "/blocks"
                 ) -> list[str]:
    """Errors of a `blocks` array (a message's, or a view's with limit=100)."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    for index, block in enumerate(blocks):
        errors.extend(_one_block_errors(block, f"{pointer}/{index}"))
    errors.extend(_duplicate_block_ids(blocks, pointer))
    return errors


def view_errors(view: Any) -> list[str]:
    """Errors of a view object (modal or home tab)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors = block_errors(view.get("blocks", []), limit=VIEW_BLOCK_LIMIT, pointer="/view/blocks")
    for key in ("title", "submit", "close"):
        if isinstance(view.get(key), str):
            errors.append(f"must provide an object [json-pointer:/view/{key}]")
    if view.get("type") == "modal":
        errors.extend(_modal_errors(view))
    if errors:
        return errors
    try:
        View(**view).to_dict()
    except Exception as exc:  # slack_sdk raises several kinds for a malformed view
        return [f"{exc} [json-pointer:/view]"]
    return []


def _modal_errors(view: dict) -> list[str]:
    errors = []
    if not view.get("title"):
        errors.append("missing required field: title [json-pointer:/view/title]")
    blocks = view.get("blocks") or []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and not view.get("submit"):
        errors.append("a view with input blocks needs submit [json-pointer:/view/submit]")
    return errors


def _one_block_errors(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    errors = list(_bare_text_errors(block, pointer))
    try:
        parsed = Block.parse(block)
        if parsed is None:
            kind = block.get("type")
            return [*errors, f"unsupported block type {kind!r} [json-pointer:{pointer}]"]
        as_dict = parsed.to_dict()  # validates the block and everything inside it
    except Exception as exc:  # SlackObjectFormationError, TypeError, KeyError, ...
        return [*errors, f"{exc} [json-pointer:{pointer}]"]
    if _contains_none(as_dict):  # slack_sdk turns unknown elements into None
        errors.append(f"unsupported element type [json-pointer:{pointer}]")
    return errors


def _bare_text_errors(block: dict, pointer: str) -> Iterator[str]:
    if block.get("type") in CLASSIC_BLOCK_TYPES:
        yield from _walk_text_fields(block, pointer)


def _walk_text_fields(node: Any, pointer: str) -> Iterator[str]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk_text_fields(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict) or node.get("type") in OPAQUE_TYPES:
        return
    if node.get("type") in TEXT_OBJECT_TYPES:
        if not node.get("text"):
            yield f"must be more than 0 characters [json-pointer:{pointer}/text]"
        return
    for key, value in node.items():
        here = f"{pointer}/{key}"
        if key in TEXT_OBJECT_KEYS and isinstance(value, str):
            yield f"must provide an object [json-pointer:{here}]"
        else:
            yield from _walk_text_fields(value, here)


def _duplicate_block_ids(blocks: list, pointer: str) -> Iterator[str]:
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is None:
            continue
        if block_id in seen:
            yield f"duplicate block_id {block_id!r} [json-pointer:{pointer}/{index}/block_id]"
        seen.add(block_id)


def _contains_none(value: Any) -> bool:
    if isinstance(value, list):
        return any(item is None or _contains_none(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_none(item) for item in value.values())
    return False
