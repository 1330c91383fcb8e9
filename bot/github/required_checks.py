"""Step 2's named tests: "unit, integration, security scanning (SAST, dependency check,
secret scanning), infrastructure validation". The policy names the checks (check runs or
commit statuses, by name or glob, `github.required_checks`) that must report; a required
check that never ran is a failed gate, not "all checks passed". Pure: no GitHub here.
"""

from __future__ import annotations

from collections.abc import Iterable

from wcmatch import fnmatch

_FLAGS = fnmatch.IGNORECASE | fnmatch.BRACE


def matches(pattern: str, check_name: str) -> bool:
    """`sast` matches the check `SAST`; `test-*` matches `test-unit` and `test-e2e`."""
    return fnmatch.fnmatch(check_name, pattern, flags=_FLAGS)


def missing_checks(required: Iterable[str], reported: Iterable[str]) -> list[str]:
    """The required names or globs that no reported check answers, in the policy's order."""
    names = list(reported)
    return [pattern for pattern in required
            if not any(matches(pattern, name) for name in names)]


def did_not_run(missing: list[str]) -> str:
    """`required check `sast` did not run`, or several."""
    quoted = ", ".join(f"`{name}`" for name in missing)
    if len(missing) == 1:
        return f"required check {quoted} did not run"
    return f"required checks {quoted} did not run"
