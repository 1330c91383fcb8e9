"""Step 1 written in a pull request: "Engineer creates pull request or change ticket".

A description that follows the change template (`.github/pull_request_template.md`: the
five fields of Step 1 under headings) is read leniently — any heading level, bold lines or
`Field:` lines, any case, the template's HTML comments ignored, the risk ticked or written.
Nothing is guessed: a field that is empty, or a risk that is not one of low / medium /
high, is missing. Pure: no GitHub here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Field -> words that name its heading (the first that matches wins), in template order.
HEADINGS: dict[str, tuple[str, ...]] = {
    "description": ("description", "justification", "summary", "what and why"),
    "category": ("category",),
    "risk": ("risk",),
    "rollback_plan": ("rollback",),
    "testing": ("testing", "tests", "tested"),
    "security_notes": ("security",),
}
LABELS = {
    "description": "Description and business justification",
    "category": "Category",
    "risk": "Risk assessment (low / medium / high)",
    "rollback_plan": "Rollback plan",
    "testing": "Testing performed",
    "security_notes": "Security considerations",
}
REQUIRED = ("description", "risk", "rollback_plan", "testing")
RISKS = ("low", "medium", "high")
CATEGORIES = {"standard": "standard", "normal": "normal", "high-risk": "high_risk",
              "high_risk": "high_risk", "high risk": "high_risk"}

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<h>[^\n]*?)\s*#*\s*$(?P<none>)"
    r"|\*\*(?P<b>[^*\n]+?):?\*\*:?\s*(?P<brest>.*)$"
    r"|(?P<c>[A-Za-z][\w /()&-]{2,60}):\s*(?P<crest>.*)$)")
_TICKED = re.compile(r"^\s*[-*]\s*\[[xX]\]\s*(?P<v>.+)$")
_BOX = re.compile(r"^\s*[-*]\s*\[[ xX]\]")


@dataclass(frozen=True)
class PrProposal:
    """What the description gave, by field; `missing` in template order."""

    fields: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    follows_template: bool = False  # at least one heading of the template was found

    @property
    def complete(self) -> bool:
        return self.follows_template and not self.missing


def _field_of(heading: str) -> str | None:
    words = heading.strip().lower().rstrip(":").strip()
    for name, names in HEADINGS.items():
        if any(words.startswith(n) or f" {n}" in f" {words}" for n in names):
            return name
    return None


def _sections(body: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _COMMENT.sub("", body.replace("\r\n", "\n")).split("\n"):
        match = _HEADING.match(line)
        name = _field_of(match.group("h") or match.group("b") or match.group("c")) \
            if match and not _BOX.match(line) else None
        if match and name and name not in found:
            current = found[name] = []
            rest = match.group("brest") or match.group("crest") or ""
            if rest.strip():
                current.append(rest)
            continue
        if match and (match.group("h") is not None) and name is None:
            current = None  # another heading of the description: not a field of ours
            continue
        if current is not None:
            current.append(line)
    return found


def _choice(lines: list[str], allowed: dict[str, str]) -> str | None:
    """A ticked box, else a text that is exactly one of the choices; else None."""
    ticked = [m.group("v").strip().lower() for m in map(_TICKED.match, lines) if m]
    texts = ticked or [ln.strip().lower() for ln in lines if ln.strip() and not _BOX.match(ln)]
    chosen = {allowed[key] for text in texts for key in allowed
              if re.match(rf"^\**{re.escape(key)}\b", text)}
    return chosen.pop() if len(chosen) == 1 else None


def parse(body: str | None) -> PrProposal:
    sections = _sections(body or "")
    values: dict[str, str] = {}
    for name, lines in sections.items():
        if name == "risk":
            value = _choice(lines, {r: r for r in RISKS})
        elif name == "category":
            value = _choice(lines, CATEGORIES)
        else:
            value = "\n".join(lines).strip()
        if value:
            values[name] = value
    missing = tuple(name for name in REQUIRED if name not in values)
    return PrProposal(values, missing, follows_template=bool(sections))


def missing_comment(missing: tuple[str, ...], *, template_path: str) -> str:
    """The one PR comment that says what Step 1 still needs; nothing is created until then."""
    items = "\n".join(f"- **{LABELS[name]}**" for name in missing)
    return ("Changebot did not open a change for this pull request yet: its description "
            f"lacks what the change process asks for:\n\n{items}\n\nAdd each under its own "
            f"heading (see `{template_path}`) and edit the description: the change is "
            "opened as soon as nothing is missing. Nothing was guessed.")
