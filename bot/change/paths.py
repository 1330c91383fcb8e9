"""Globs over a pull request's files, as the policy writes them: `*` stays within a
directory, `**` spans any number of them (none included), `{a,b}` is either."""

from __future__ import annotations

from collections.abc import Iterable

from wcmatch import glob

_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTMATCH


def matches(pattern: str, path: str) -> bool:
    return glob.globmatch(path, pattern, flags=_FLAGS)


def patterns_touched(patterns: Iterable[str], files: Iterable[str]) -> list[str]:
    """The patterns at least one of `files` matches, in the policy's order."""
    names = list(files)
    return [p for p in patterns if any(matches(p, f) for f in names)]


def files_outside(patterns: Iterable[str], files: Iterable[str]) -> list[str]:
    """The files that match none of `patterns`."""
    allowed = list(patterns)
    return [f for f in files if not any(matches(p, f) for p in allowed)]
