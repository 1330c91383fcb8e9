"""Block Kit views, built with slack_sdk.models so that Slack's limits are checked."""

from collections.abc import Callable, Sequence
from typing import TypeVar

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.text import clip

T = TypeVar("T")


def to_dicts(blocks: list[Block]) -> list[dict]:
    """Serialise (and so validate) blocks for the Web API."""
    return [block.to_dict() for block in blocks]


def section(text: str) -> SectionBlock:
    """A section of mrkdwn, clipped to what Slack takes."""
    return SectionBlock(text=MarkdownTextObject(text=clip(text)))


def context(text: str) -> ContextBlock:
    """A line of mrkdwn in small print."""
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def first_listed(items: Sequence[T], line: Callable[[T], str], limit: int,
                 more: str = "") -> list[Block]:
    """A section for each of the first `limit` items, its mrkdwn `line(item)`; then "…and N
    more" followed by `more` when there are others."""
    blocks: list[Block] = [section(line(item)) for item in items[:limit]]
    if len(items) > limit:
        blocks.append(context(f"…and {len(items) - limit} more{more}"))
    return blocks
