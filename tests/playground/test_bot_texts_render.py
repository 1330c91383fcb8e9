"""What the bot writes renders in the playground as in Slack: its emoji shortcodes, and its
optional fields labelled once."""

import re
from pathlib import Path

from bot.emergency.views import emergency_modal
from bot.playground.standin import mrkdwn
from bot.playground.standin.workspace import demo_policy
from bot.proposal.views import proposal_modal

BOT = Path(__file__).resolve().parents[2] / "bot"
# A shortcode as texts write it: after a space, a quote or the start of a line, before a
# space, a quote or punctuation (not a key such as `answer:{id}:report:{n}`).
SHORTCODE = re.compile(r"(?<![^\s\"'(]):([a-z0-9_+\-]+):(?![^\s\"'),.*])")


def shortcodes_the_bot_writes() -> set[str]:
    found: set[str] = set()
    for source in BOT.rglob("*.py"):
        if "playground" not in source.parts:
            found |= set(SHORTCODE.findall(source.read_text()))
    return found


def test_every_shortcode_the_bot_writes_renders_as_an_emoji():
    used = shortcodes_the_bot_writes()
    assert {"raised_hand", "white_check_mark", "rotating_light"} <= used  # the scan works
    missing = sorted(code for code in used if code not in mrkdwn.EMOJI)
    assert missing == []
    assert mrkdwn.to_html(":raised_hand: *Manual deployment*", mrkdwn.Names()).startswith("✋")


def test_optional_fields_do_not_say_optional_slack_says_it():
    for view in (proposal_modal(demo_policy()), emergency_modal(demo_policy())):
        for block in view.to_dict()["blocks"]:
            if block["type"] == "input" and block.get("optional"):
                assert "optional" not in block["label"]["text"].lower(), block["label"]
