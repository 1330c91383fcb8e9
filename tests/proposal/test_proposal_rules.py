"""Step 1's checks of what was typed: a proposal carries its category and risk as enums."""

from datetime import UTC, datetime

import pytest

from bot.change.states import Category, Risk
from bot.policy import ProposalPolicy
from bot.proposal.proposals import Invalid, validate_proposal

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RULES = ProposalPolicy()
FORM = {"title": "Add an index", "description": "The report is slow.", "category": "high_risk",
        "risk": "medium", "rollback_plan": "Drop the index.", "testing": "Ran it on a copy."}


def test_a_valid_form_gives_a_proposal_with_enums():
    proposal = validate_proposal(FORM, author="U0ALICE", now=NOW, rules=RULES)
    assert proposal.category is Category.high_risk and proposal.risk is Risk.medium


@pytest.mark.parametrize(("missing", "field"), [("category", "category"), ("risk", "risk")])
def test_a_form_without_category_or_risk_is_refused_on_that_field(missing, field):
    values = {k: v for k, v in FORM.items() if k != missing}
    with pytest.raises(Invalid) as refused:
        validate_proposal(values, author="U0ALICE", now=NOW, rules=RULES)
    assert refused.value.errors == {field: "This is required."}


def test_a_category_the_process_does_not_know_is_refused():
    with pytest.raises(Invalid) as refused:
        validate_proposal(FORM | {"category": "urgent"}, author="U0ALICE", now=NOW, rules=RULES)
    assert refused.value.errors == {"category": "Choose standard, normal or high-risk."}
