"""The approvals the process asks of named people beside the peers' — the infrastructure
team's for an infrastructure change, the code owners' of the files changed — as their gates
(bot.change.gates) stand, in the evidence's words (no Slack markup)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.change.facts import ChangeFacts
from bot.change.gates import OPEN_GATE_STATES, code_owners_gate, infrastructure_gate
from bot.change.states import GateState
from bot.evidence.records import NamedApproval
from bot.policy import Policy

NAMED_APPROVAL_GATES = (infrastructure_gate, code_owners_gate)
_MARKUP = re.compile(r"<[@!](?:subteam\^)?([A-Z0-9]+)(?:\|[^>]*)?>")


def unslack(text: str) -> str:
    """`<@U0BOB>` -> `U0BOB`, `<!subteam^S0INFRA>` -> `S0INFRA`: people named by their id."""
    return _MARKUP.sub(r"\1", text)


def named_approvals(facts: ChangeFacts, policy: Policy,
                    now: datetime) -> tuple[NamedApproval, ...]:
    gates = (check(facts, policy, now) for check in NAMED_APPROVAL_GATES)
    return tuple(NamedApproval(gate.key, gate.state in OPEN_GATE_STATES, unslack(gate.detail))
                 for gate in gates if gate.state != GateState.not_required)
