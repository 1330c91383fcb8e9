"""Block Kit views, built with slack_sdk.models so that Slack's limits are checked."""

from slack_sdk.models.blocks import Block


def to_dicts(blocks: list[Block]) -> list[dict]:
    """Serialise (and so validate) blocks for the Web API."""
    return [block.to_dict() for block in blocks]
