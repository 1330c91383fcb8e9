"""Step 4 on the card: the security team's buttons while their review is awaited."""

from slack_sdk.models.blocks import ButtonElement

from bot.change.card_view import CardInput
from bot.security.rules import awaits_security_review

APPROVE = "security_approve"
REQUEST_CHANGES = "security_request_changes"


def security_buttons(card: CardInput) -> list[ButtonElement]:
    """Shown to everyone (Slack cannot hide a button per person); only the security team's
    clicks are acted upon."""
    if not awaits_security_review(card.facts):
        return []
    value = str(card.change_id)
    return [
        ButtonElement(action_id=APPROVE, text="Approve security review", value=value,
                      style="primary"),
        ButtonElement(action_id=REQUEST_CHANGES, text="Request changes", value=value),
    ]
