"""The words a change is stored with: its status, category and risk.

They live here, free of any import, so that the tables (storage) and the pure rules (bot)
share one definition while storage never imports bot. bot.change.states re-exports them
beside the transitions. In the database they are the short strings of their values.
"""

from enum import StrEnum


class Status(StrEnum):
    proposed = "proposed"
    in_review = "in_review"
    approved = "approved"
    staging = "staging"
    ready = "ready"
    deploying = "deploying"
    monitoring = "monitoring"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    rolled_back = "rolled_back"

    @property
    def label(self) -> str:
        """`in review`, `rolled back`: the status as a word in a sentence."""
        return self.value.replace("_", " ")


class Category(StrEnum):
    """The change categories of the process ("Change Categories")."""

    standard = "standard"  # low-risk, pre-approved patterns (dependency updates, bug fixes)
    normal = "normal"  # most code and infrastructure changes
    high_risk = "high_risk"  # database schema changes, major architecture changes
    emergency = "emergency"  # critical security patches or production outages

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.standard: "Standard",
    Category.normal: "Normal",
    Category.high_risk: "High-risk",
    Category.emergency: "Emergency",
}


class Risk(StrEnum):
    """The risk assessment of the proposal (Step 1)."""

    low = "low"
    medium = "medium"
    high = "high"

