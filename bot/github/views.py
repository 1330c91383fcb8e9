"""What the change card shows of GitHub: the pull request, CI, reviews, deployments, and the
Refresh button (gathered by bot.change.card)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.change.card_view import CardInput, MoreItem
from bot.change.states import CLOSED
from bot.deployment.rules import describe_deploy_exception
from bot.slack.text import escape, user
from storage.models import Approval, Change, DeployGate

REFRESH_ACTION = "change_github_refresh"
_SHOWN_REVIEWS = 5
_REVIEW_WORDS = {"APPROVED": "approved", "CHANGES_REQUESTED": "requested changes",
                 "DISMISSED": "was dismissed"}


def _check(check: dict) -> str:
    name = escape(check.get("name") or "?")
    url = check.get("url")
    return f"<{url}|{name}>" if url else name


def pull_request_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    if not change.pr_url:
        return []
    info = change.pr_info or {}
    notes = []
    if info.get("title"):
        state = "merged" if info.get("merged") else info.get("state") or "open"
        parts = [f"*PR* <{info.get('url') or change.pr_url}|{info.get('repo')}"
                 f"#{info.get('number')}> {escape(info['title'])} by `{info.get('author')}`",
                 f"`{info.get('head')}` → `{info.get('base')}`", state]
        if change.head_sha:
            parts.append(f"head `{change.head_sha[:7]}`")
        if change.merge_sha:
            parts.append(f"merge `{change.merge_sha[:7]}`")
        if "files" in info:
            count = len(info["files"])
            parts.append(f"{count} file{'' if count == 1 else 's'} changed")
        notes.append(" · ".join(parts))
    failing = change.ci_detail.get("failing") or []
    if failing:
        notes.append("*Failing checks*: " + ", ".join(_check(c) for c in failing))
    pending = change.ci_detail.get("pending") or []
    if change.ci_state == "pending" and pending:
        notes.append("*Checks running*: " + ", ".join(_check(c) for c in pending))
    reviews = info.get("reviews") or []
    if reviews:
        shown = [f"`{r['login']}` {_REVIEW_WORDS.get(r['state'], r['state'].lower())} "
                 f"`{(r.get('commit') or '')[:7]}` — {r.get('outcome', '')}"
                 for r in reviews[-_SHOWN_REVIEWS:]]
        notes.append("*GitHub reviews*: " + "; ".join(shown))
    if change.github_error:
        notes.append(f":warning: {escape(change.github_error)}")
    return notes


def deployment_notes(change: Change, _approvals: Sequence[Approval]) -> list[str]:
    notes = []
    if change.deploy_method == "automated" and change.deployed_at:
        notes.append(f"Deployed to production by GitHub, triggered by {user(change.deployed_by)}")
    if change.deploy_exceptions:
        notes.append(":rotating_light: *Deployed with gates closed*: "
                     + "; ".join(escape(describe_deploy_exception(e))
                                 for e in change.deploy_exceptions))
    return notes


def github_more(card: CardInput) -> list[MoreItem]:
    """Refresh from GitHub, in the card's overflow menu, while a PR is linked."""
    if not card.pr_url or card.facts.status in CLOSED:
        return []
    return [MoreItem(REFRESH_ACTION, "Refresh from GitHub")]


def deploy_gate_notes(deploy_gates: Sequence[DeployGate]) -> list[str]:
    """GitHub Actions jobs waiting on the deploy gate, and how the last ones were answered."""
    notes = []
    for gate in list(deploy_gates)[-3:]:
        run = f"<{gate.run_url}|run {gate.run_id}>" if gate.run_url else f"run {gate.run_id}"
        if gate.state == "waiting":
            notes.append(f":hourglass_flowing_sand: GitHub Actions is waiting to deploy to "
                         f"{gate.environment} ({run}) until every gate is met.")
        elif gate.state == "approved":
            notes.append(f":white_check_mark: GitHub Actions' deployment to {gate.environment} "
                         f"({run}) was approved by Changebot.")
        else:
            notes.append(f":no_entry: GitHub Actions' deployment to {gate.environment} ({run}) "
                         f"was rejected: {gate.reason or 'the change may not ship'}")
    return notes
