"""When a change needs a security review (process Step 4).

"Triggers for security review: authentication or authorization logic; cryptographic
implementations; data access or privacy-related changes; third-party integrations;
infrastructure changes affecting production security controls." High-risk changes always
get one ("Security review required").

Evidence comes from several sources: the checkboxes the author ticks in the proposal, the
category, words in the description (`policy.security.keywords`) and the files the linked
pull request changes (`policy.security.paths`). Each source is one small function in
`TRIGGER_SOURCES`; a new source of evidence is one more entry there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from bot.change.states import Category
from bot.settings import Policy

# The security checkboxes of the proposal modal: value -> label (the triggers of Step 4).
CHECKBOXES: dict[str, str] = {
    "auth": "Authentication or authorization logic",
    "crypto": "Cryptography",
    "data": "Data access or privacy",
    "third_party": "Third-party integration",
    "infra": "Infrastructure affecting production security controls",
}


@dataclass(frozen=True)
class Evidence:
    """What is known about a change that could make it security-sensitive."""

    category: str
    checkboxes: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()  # description, security considerations, …
    changed_files: tuple[str, ...] = ()  # paths in the linked pull request


@dataclass(frozen=True)
class Trigger:
    """One reason a security review is needed, e.g. ("keyword", "mentions “jwt”")."""

    source: str  # checkbox | category | keyword | path
    reason: str


def checkbox_triggers(evidence: Evidence, policy: Policy) -> list[Trigger]:
    """The author ticked a security checkbox in the proposal."""
    return [
        Trigger("checkbox", f"touches {CHECKBOXES.get(value, value).lower()}")
        for value in evidence.checkboxes
    ]


def category_triggers(evidence: Evidence, policy: Policy) -> list[Trigger]:
    """High-risk changes always get a security review."""
    if evidence.category == Category.high_risk:
        return [Trigger("category", "high-risk change")]
    return []


def keyword_triggers(evidence: Evidence, policy: Policy) -> list[Trigger]:
    """The description mentions a security keyword of the policy, as a whole word."""
    text = "\n".join(evidence.texts)
    return [
        Trigger("keyword", f"mentions “{keyword}”")
        for keyword in policy.security.keywords
        if keyword.strip() and _keyword_regex(keyword).search(text)
    ]


def path_triggers(evidence: Evidence, policy: Policy) -> list[Trigger]:
    """The pull request changes a file matching a security path of the policy."""
    files = [_normalise(path) for path in evidence.changed_files]
    return [
        Trigger("path", f"`{_shown(pattern)}`")
        for pattern in policy.security.paths
        if any(path_matches(pattern, path) for path in files)
    ]


@dataclass(frozen=True)
class TriggerSource:
    """A source of evidence: its name, how the summary credits it, and its function."""

    name: str
    note: str
    find: Callable[[Evidence, Policy], list[Trigger]]


TRIGGER_SOURCES: list[TriggerSource] = [
    TriggerSource("checkbox", "checkbox", checkbox_triggers),
    TriggerSource("category", "always", category_triggers),
    TriggerSource("keyword", "keyword", keyword_triggers),
    TriggerSource("path", "changed files", path_triggers),
]


def triggers(evidence: Evidence, policy: Policy) -> list[Trigger]:
    """Every reason for a security review, each once, in the order of the sources."""
    found: dict[Trigger, None] = {}
    for source in TRIGGER_SOURCES:
        found.update(dict.fromkeys(source.find(evidence, policy)))
    return list(found)


def review_required(evidence: Evidence, policy: Policy) -> bool:
    return bool(triggers(evidence, policy))


def summary(found: list[Trigger]) -> str:
    """`touches cryptography (checkbox), `auth/` (changed files)`; empty when none."""
    notes = {source.name: source.note for source in TRIGGER_SOURCES}
    return ", ".join(f"{t.reason} ({notes.get(t.source, t.source)})" for t in found)


# --------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _keyword_regex(keyword: str) -> re.Pattern[str]:
    """A whole-word, case-insensitive match: `auth` finds "Auth" and "auth_token", not
    "author"; `security group` finds "security  group" across spaces."""
    words = r"\s+".join(re.escape(word) for word in keyword.split())
    not_letter = r"[^\W\d_]"
    return re.compile(rf"(?<!{not_letter}){words}(?!{not_letter})", re.IGNORECASE)


def path_matches(pattern: str, path: str) -> bool:
    """Glob matching where `*` stays within a directory and `**` spans any number of
    directories (none included): `**/auth/**` matches `auth/x.py` and `src/auth/x.py`."""
    return _glob_regex(pattern).match(_normalise(path)) is not None


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


def _normalise(path: str) -> str:
    return path.strip().replace("\\", "/").removeprefix("./").lstrip("/")


def _shown(pattern: str) -> str:
    """How a path pattern reads in a summary: `**/auth/**` -> `auth/`."""
    shown = pattern.removeprefix("**/")
    if shown.endswith("/**"):
        shown = shown[:-2]
    return shown
