"""The `/change help` answer."""

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.blocks import to_dicts

SUBCOMMANDS: list[tuple[str, str]] = [
    ("new", "propose a production change (opens a form)"),
    ("emergency", "start an emergency change: deploy now, review after"),
    ("list", "open changes, yours first"),
    ("list overdue", "emergencies whose retrospective is overdue"),
    ("show CHG-n", "one change: its gates and its history"),
    ("override-security CHG-n &lt;reason&gt;",
     "tech leads: bypass a pending security review, on the record with your reason"),
    ("link CHG-n &lt;pull request link&gt;", "link a change to its GitHub pull request (author)"),
    ("github &lt;login&gt;", "say which GitHub login is yours, so your PR reviews count"),
    ("evidence FROM TO [md|csv|json]", "the evidence pack of a period (dates YYYY-MM-DD), "
     "as a file in your DM: Markdown unless you name another format"),
    ("freeze FROM TO &lt;reason&gt;", "tech leads: freeze production (dates YYYY-MM-DD or "
     "YYYY-MM-DDTHH:MM, `now`); only emergencies deploy then"),
    ("freeze list", "the freeze windows, now and to come"),
    ("unfreeze FRZ-n", "tech leads: lift a freeze declared in Slack"),
    ("calendar [next week|YYYY-MM-DD]", "the week's planned and deployed changes, with "
     "freezes and conflicts"),
    ("metrics [30d|90d]", "DORA's delivery metrics, their trend and cluster; a weekly chart "
     "in your DM"),
    ("help", "this list"),
]


def help_message(unknown: str | None = None) -> dict:
    lines = "\n".join(f"`/change {name}` — {what}" for name, what in SUBCOMMANDS)
    title = "Changebot: production changes, reviewed and on record"
    blocks: list[Block] = [HeaderBlock(text=title)]
    if unknown:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(
                text=f"I don't know `/change {unknown}`. Here is what I can do:"
            ))
        )
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=lines)),
        ContextBlock(elements=[MarkdownTextObject(
            text="A change is named `CHG-12` (or `chg-12`, or `12`). Every change is proposed, "
            "tested, reviewed by someone else, deployed inside business hours and verified — "
            "and every step is kept as evidence."
        )]),
    ]
    text = "Changebot commands: " + ", ".join(name for name, _ in SUBCOMMANDS)
    return {"text": text, "blocks": to_dicts(blocks), "response_type": "ephemeral"}
