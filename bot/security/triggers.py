"""When a change needs a security review (process Step 4).

"Triggers for security review: authentication or authorization logic; cryptographic
implementations; data access or privacy-related changes; third-party integrations;
infrastructure changes affecting production security controls." High-risk changes always
get one ("Security review required").

Evidence comes from several sources: the checkboxes the author ticks in the proposal, the
category, words in the title, description and security considerations
(`policy.security.keywords`) and the files the linked pull request changes
(`policy.security.paths`). Each source is one small function in `TRIGGER_SOURCES`; a new
source of evidence is one more entry there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from wcmatch import glob

from bot.change.states import Category
from bot.policy import Policy

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
    texts: tuple[str, ...] = ()  # title, description, …
    changed_files: tuple[str, ...] = ()  # paths in the linked pull request
    # The security-considerations field, where "No auth or crypto changes." is a common
    # answer: a mention after a negation in the same sentence does not count there.
    notes: str = ""


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
    """The texts mention a security keyword of the policy, in any of its word forms; the
    reason quotes the words found (lower-cased), e.g. mentions “tokens”, “token”."""
    found = []
    for keyword in policy.security.keywords:
        if not keyword.strip():
            continue
        words = dict.fromkeys(word.lower() for word in _mentions(keyword, evidence))
        if words:
            quoted = ", ".join(f"“{word}”" for word in list(words)[:3])
            found.append(Trigger("keyword", f"mentions {quoted}"))
    return found


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


# A keyword of four letters or more is a stem: `encrypt` finds "encryption", `auth` finds
# "Authentication" and "authorization", `token` finds "tokens". A shorter one (`jwt`, `ssl`)
# finds itself and its plural only, so "ssltest" is not a mention.
_MIN_STEM = 4
# Words that share a stem with a keyword but are not about security.
_FALSE_FRIENDS = re.compile(r"author(?!i[sz]).*|secreta.*", re.IGNORECASE)
_LETTER = r"[^\W\d_]"
_NEGATION = re.compile(
    r"\b(?:no|not|none|nothing|never|neither|nor|without|n/a|"
    r"(?:does|do|did|is|are|was|were|will|would|has|have)n[’']t|won[’']t)\b",
    re.IGNORECASE,
)
# Where a sentence of the security considerations (and so a negation's reach) ends.
_CLAUSE_END = re.compile(r"[.;!?\n]+|\b(?:but|however|except)\b", re.IGNORECASE)


def _mentions(keyword: str, evidence: Evidence) -> Iterator[str]:
    """The words of the evidence's texts and notes that mention `keyword`, as written."""
    regex = _keyword_regex(keyword)
    for text in evidence.texts:
        yield from _matches(regex, text)
    for clause in _CLAUSE_END.split(evidence.notes):
        negation = _NEGATION.search(clause)
        for match in regex.finditer(clause):
            if negation is None or match.start() < negation.start():
                yield from _matches(regex, match.group())


def _matches(regex: re.Pattern[str], text: str) -> Iterator[str]:
    for match in regex.finditer(text):
        last_word = match.group().split()[-1].split("-")[-1]
        if not _FALSE_FRIENDS.fullmatch(last_word):
            yield " ".join(match.group().split())


@lru_cache(maxsize=256)
def _keyword_regex(keyword: str) -> re.Pattern[str]:
    """Case-insensitive, from the start of a word: `auth` finds "Auth", "auth_token" and
    "authentication"; `security group` finds "security  groups"; `third party` finds
    "Third-party"."""
    *first, last = keyword.replace("-", " ").split()
    if len(last) < _MIN_STEM:
        stem = re.escape(last) + "(?:e?s)?"
    elif last.endswith("y"):  # "party" finds "parties" too
        stem = re.escape(last[:-1]) + f"(?:y|ie){_LETTER}*"
    else:
        stem = re.escape(last) + f"{_LETTER}*"
    words = r"[\s-]+".join([re.escape(word) for word in first] + [stem])
    return re.compile(rf"(?<!{_LETTER}){words}(?!{_LETTER})", re.IGNORECASE)


_GLOB_FLAGS = glob.GLOBSTAR | glob.IGNORECASE | glob.DOTGLOB  # dotfiles are files too


def path_matches(pattern: str, path: str) -> bool:
    """Glob matching where `*` stays within a directory and `**` spans any number of
    directories (none included): `**/auth/**` matches `auth/x.py` and `src/auth/x.py`."""
    return glob.globmatch(_normalise(path), pattern, flags=_GLOB_FLAGS)


def _normalise(path: str) -> str:
    return path.strip().replace("\\", "/").removeprefix("./").lstrip("/")


def _shown(pattern: str) -> str:
    """How a path pattern reads in a summary: `**/auth/**` -> `auth/`."""
    shown = pattern.removeprefix("**/")
    if shown.endswith("/**"):
        shown = shown[:-2]
    return shown
