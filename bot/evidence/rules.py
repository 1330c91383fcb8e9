"""Validation and evidence: who may export an evidence pack.
"""

from __future__ import annotations

from bot.change.decisions import ALLOWED, Decision, refuse
from bot.policy import Policy


def evidence_group(policy: Policy) -> str | None:
    """Who may export evidence packs: the policy's evidence group, else the tech leads."""
    return policy.groups.evidence or policy.groups.tech_leads


def may_export_evidence(in_group: bool, group: str | None) -> Decision:
    """An evidence pack names every change and person of a period: only the policy's group
    ("Validation and Evidence") exports it."""
    if group is None:
        return refuse(
            "Nobody may export evidence yet: set groups.evidence (or groups.tech_leads) in "
            "the policy."
        )
    if not in_group:
        return refuse(f"Only members of <!subteam^{group}> can export evidence packs.")
    return ALLOWED
