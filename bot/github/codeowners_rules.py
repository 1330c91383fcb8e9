"""Code owners ("Reviewer: peer or senior engineer" named by the repository): a CODEOWNERS
file, read as GitHub reads it, names whose approval each changed file needs. Pure: the file
and the people behind its owners come from bot.github.codeowners.

GitHub's rules, kept here: the file is the first of `.github/CODEOWNERS`, `CODEOWNERS`,
`docs/CODEOWNERS` on the pull request's base branch; each line is a pattern and its owners
(`@login`, `@org/team`, an email address); the *last* matching line wins, and a line
without owners leaves its files unowned. Patterns follow .gitignore: `/` at the start
anchors at the root, a pattern without an inner `/` matches at any depth, a directory
matches everything beneath it, `docs/*` only the files directly in docs. GitHub skips what
it does not support (`!` negation, `[ ]` ranges, a `\\#` escape); here such a line is a
problem, so the gate stays closed until it is fixed rather than guess what was meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wcmatch import glob

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_FLAGS = glob.GLOBSTAR | glob.DOTMATCH | glob.CASE  # CODEOWNERS paths are case sensitive
_LOGIN = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_TEAM = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class OwnerRule:
    pattern: str
    owners: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Parsed:
    rules: tuple[OwnerRule, ...]
    problems: tuple[str, ...]  # one per line GitHub would skip, with how to fix it


def pattern_problem(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return f"`{pattern}` negates a pattern, which CODEOWNERS does not support"
    if "[" in pattern or "]" in pattern:
        return f"`{pattern}` uses a [ ] character range, which CODEOWNERS does not support"
    if pattern.startswith("\\#"):
        return f"`{pattern}` escapes #, which CODEOWNERS does not support"
    return None


def owner_kind(owner: str) -> str | None:
    """"login", "team" or "email"; None for what GitHub would not take as an owner."""
    if _TEAM.match(owner):
        return "team"
    if _LOGIN.match(owner):
        return "login"
    if _EMAIL.match(owner):
        return "email"
    return None


def parse(text: str, source: str) -> Parsed:
    rules: list[OwnerRule] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        pattern, *owners = line.split()
        problem = pattern_problem(pattern)
        bad = [o for o in owners if owner_kind(o) is None]
        if problem is None and bad:
            problem = (f"{', '.join(f'`{o}`' for o in bad)} is not an owner: write "
                       "@login, @org/team or an email address")
        if problem:
            problems.append(f"{source} line {number}: {problem}")
            continue
        rules.append(OwnerRule(pattern, tuple(owners), number))
    return Parsed(tuple(rules), tuple(problems))


def matches(pattern: str, path: str) -> bool:
    """Does the CODEOWNERS `pattern` cover the file `path` (relative to the root)?"""
    if pattern in ("*", "/*", "**", "/**"):
        return True
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in body
    if not anchored:
        body = "**/" + body
    # `docs/*` covers the files directly in docs, not those further down (GitHub's docs).
    globs = [] if body.endswith("/*") else [body + "/**"]  # a directory: all beneath it
    if not directory:
        globs.append(body)
    return any(glob.globmatch(path, g, flags=_FLAGS) for g in globs)


def owner_rule(rules: Sequence[OwnerRule], path: str) -> OwnerRule | None:
    """The line that owns `path`: the last one matching it."""
    for rule in reversed(rules):
        if matches(rule.pattern, path):
            return rule
    return None


@dataclass(frozen=True)
class OwnedGroup:
    """Changed files owned by one CODEOWNERS line: one approval from any of its owners."""

    pattern: str
    owners: tuple[str, ...]  # as written: @login, @org/team, email
    files: tuple[str, ...]
    # Who may give that approval: Slack users (linked logins, team members, emails) and
    # GitHub logins in lower case (an approving review on GitHub).
    approvers: frozenset[str] = frozenset()


def owned_groups(rules: Sequence[OwnerRule], files: Iterable[str]) -> list[OwnedGroup]:
    """The changed files that have owners, grouped by the line owning them (file order)."""
    by_line: dict[int, tuple[OwnerRule, list[str]]] = {}
    for path in files:
        rule = owner_rule(rules, path)
        if rule is not None and rule.owners:
            by_line.setdefault(rule.line, (rule, []))[1].append(path)
    return [OwnedGroup(rule.pattern, rule.owners, tuple(paths))
            for rule, paths in by_line.values()]


@dataclass(frozen=True)
class CodeOwners:
    """What the last read of CODEOWNERS says of a change's pull request."""

    source: str | None  # where the file was found; None: the repository has none
    groups: tuple[OwnedGroup, ...] = ()
    problems: tuple[str, ...] = ()  # why the gate cannot open (unreadable, malformed, down)
    notes: tuple[str, ...] = ()  # said on the card: how teams and emails were resolved
    retry: bool = False  # GitHub did not answer: read again

    def as_record(self) -> dict[str, Any]:
        return {"source": self.source, "problems": list(self.problems),
                "notes": list(self.notes), "retry": self.retry,
                "groups": [{"pattern": g.pattern, "owners": list(g.owners),
                            "files": list(g.files), "approvers": sorted(g.approvers)}
                           for g in self.groups]}


def from_record(record: object) -> CodeOwners | None:
    """The stored read (pr_info["codeowners"]); None when none was made."""
    if not isinstance(record, dict):
        return None
    groups = tuple(
        OwnedGroup(str(g.get("pattern", "")), tuple(g.get("owners") or ()),
                   tuple(g.get("files") or ()), frozenset(g.get("approvers") or ()))
        for g in record.get("groups") or () if isinstance(g, dict))
    return CodeOwners(record.get("source"), groups, tuple(record.get("problems") or ()),
                      tuple(record.get("notes") or ()), bool(record.get("retry")))


def approved_by(group: OwnedGroup, approvers: Iterable[str]) -> str | None:
    """One of `approvers` (Slack users, `gh:login`s) who is an owner of the group."""
    for who in approvers:
        if who in group.approvers or who.removeprefix("gh:").lower() in group.approvers:
            return who
    return None


def why_owned(group: OwnedGroup, limit: int = 3) -> str:
    """`` `src/api/**` (src/api/a.py, src/api/b.py) `` — why an owner's approval is needed."""
    shown = ", ".join(group.files[:limit])
    more = f" and {len(group.files) - limit} more" if len(group.files) > limit else ""
    return f"`{group.pattern}` ({shown}{more})"


def owners_text(group: OwnedGroup) -> str:
    return " or ".join(group.owners)
