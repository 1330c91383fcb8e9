"""GitHub webhooks, once their signature is verified (handlers/github.py).

Each delivery is handled once: its `X-GitHub-Delivery` id is kept in `inbound_requests` in
the same transaction as what it changed, so a redelivery changes nothing and a crash half
way lets GitHub's redelivery try again. What the payload says is applied at once (a new
head commit, a merge, a deployment); what needs GitHub's API (the CI of a commit, mapping a
reviewer to Slack) becomes a durable reminder handled by bot.github.sync.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.change.work import audit, lock, refresh_card, thread_note
from bot.context import Context
from bot.flows import github as github_flow
from bot.github import (
    deploy_gate,
    emergency_label,
    emergency_pr,
    login_proof,
    merge_gate,
    pr_proposal,
    pull_requests,
)
from bot.github import deployments as github_deployments
from bot.github.errors import GitHubError
from bot.github.reads import CHECK_NAME
from bot.slack import outbox
from storage import github_store
from storage.models import Change

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Received:
    """How the webhook is answered: 200 handled (or already), 204 ignored, 400 malformed,
    202 accepted but not ours to decide (an installation or repository the bot does not
    serve), 503 GitHub could not confirm whose it is (nothing recorded: redeliver it)."""

    status: int
    message: str


EventHandler = Callable[[AsyncSession, Context, dict, str], Awaitable[str | None]]


async def receive(ctx: Context, event: str, delivery: str, payload: object) -> Received:
    handler = EVENTS.get(event)
    if handler is None:
        return Received(204, f"{event or 'unnamed'} events are not used")
    if not delivery or len(delivery) > 100:
        return Received(400, "the X-GitHub-Delivery header is missing or malformed")
    if not isinstance(payload, dict):
        return Received(400, "the payload is not a JSON object")
    try:
        stranger = await _foreign_installation(ctx, payload)
    except GitHubError as exc:  # nothing recorded: a redelivery is looked at again
        return Received(503, "GitHub could not confirm the webhook's installation "
                             f"({exc.message}); redeliver it later")
    if stranger is not None:
        log.warning("GitHub %s delivery %s not decided: %s", event, delivery, stranger)
        return Received(202, f"accepted, nothing decided: {stranger}")
    try:
        async with ctx.db.session() as session:
            if not await github_store.first_delivery(session, f"github:{delivery}",
                                                     ctx.clock.now()):
                return Received(200, f"delivery {delivery} was already handled")
            message = await handler(session, ctx, payload, delivery)
    except IntegrityError:  # the same delivery, twice at the same moment: the other won
        return Received(200, f"delivery {delivery} was already handled")
    except deploy_gate.Unknown as unknown:  # rolled back: a redelivery is looked at again
        log.info("GitHub %s delivery %s not decided: %s", event, delivery, unknown)
        return Received(202, f"accepted, nothing decided: {unknown}")
    except (KeyError, TypeError, ValueError) as exc:
        return Received(400, f"the {event} payload lacks what it should have ({exc!r})")
    ctx.sweeper.kick()
    if message is None:
        return Received(204, f"{event} {payload.get('action') or ''} is not used".strip())
    return Received(200, message)


async def _foreign_installation(ctx: Context, payload: dict) -> str | None:
    """App mode: a webhook is believed only from the installation GitHub reports for its
    repository (`GET /repos/{owner}/{repo}/installation`, cached). Why not, or None."""
    if ctx.github is None or not ctx.github.app_mode:
        return None
    installation = payload.get("installation")
    repository = payload.get("repository")
    if not (isinstance(installation, dict) and isinstance(installation.get("id"), int)
            and isinstance(repository, dict) and isinstance(repository.get("full_name"), str)):
        return None
    installation_id, full_name = installation["id"], repository["full_name"]
    try:
        if await ctx.github.installation_matches(full_name, installation_id):
            return None
    except ValueError:
        return f"{full_name!r} is not a repository name"
    return f"installation {installation_id} is not the one serving {full_name}"


# --------------------------------------------------------------------------- CI


async def _re_evaluate_ci(session: AsyncSession, ctx: Context, repo_name: str,
                          sha: str) -> str:
    changes = await github_store.changes_at_head(session, repo_name, sha)
    now = ctx.clock.now()
    for change in changes:
        # Many checks finish together: one pending read of this commit's CI is enough.
        if await github_store.pending_reminder(session, change.id or 0, "github_ci",
                                               key_prefix=f"github_ci:{change.id}:{sha}:",
                                               unclaimed_at=now):
            continue
        await outbox.schedule(
            session, ctx, key=f"github_ci:{change.id}:{sha}:{uuid.uuid4().hex}", kind="github_ci",
            change_id=change.id, payload={"sha": sha}, due_at=now,
        )
    return f"CI of {pull_requests.short(sha)} re-evaluated for {len(changes)} change(s)"


async def on_check_run(session: AsyncSession, ctx: Context, payload: dict,
                       delivery: str) -> str | None:
    if payload.get("action") != "completed" or payload["check_run"].get("name") == CHECK_NAME:
        return None
    return await _re_evaluate_ci(session, ctx, payload["repository"]["full_name"],
                                 payload["check_run"]["head_sha"])


async def on_check_suite(session: AsyncSession, ctx: Context, payload: dict,
                         delivery: str) -> str | None:
    if payload.get("action") != "completed":
        return None
    return await _re_evaluate_ci(session, ctx, payload["repository"]["full_name"],
                                 payload["check_suite"]["head_sha"])


async def on_status(session: AsyncSession, ctx: Context, payload: dict,
                    delivery: str) -> str | None:
    if payload.get("context") == CHECK_NAME:
        return None  # our own merge gate
    return await _re_evaluate_ci(session, ctx, payload["repository"]["full_name"],
                                 payload["sha"])


# --------------------------------------------------------------------------- pull requests


async def on_pull_request(session: AsyncSession, ctx: Context, payload: dict,
                          delivery: str) -> str | None:
    action = payload.get("action")
    pr = payload["pull_request"]
    if action == "labeled" and emergency_label.is_emergency_label(
            (payload.get("label") or {}).get("name")):
        return await emergency_pr.on_label(session, ctx, payload, delivery)
    proposed = None  # Step 1 written in a pull request that no change links yet
    if action in pr_proposal.ACTIONS:
        proposed = await pr_proposal.on_pull_request(session, ctx, payload, delivery)
    if action not in ("opened", "synchronize", "closed", "reopened", "edited",
                      "ready_for_review", "labeled", "unlabeled"):
        return proposed
    repo_name, number = payload["repository"]["full_name"], int(pr["number"])
    changes = await github_store.changes_linking(session, repo_name, number)
    if not changes and action in ("opened", "synchronize", "reopened"):
        no_change = await _no_change_record(session, ctx, payload)
        return proposed or no_change
    if not changes and action in ("labeled", "unlabeled"):
        return proposed
    if proposed is not None or action == "opened":
        return proposed
    for change in changes:
        loaded = await lock(session, change.id or 0)
        if loaded is None:
            continue
        if action == "synchronize":
            await github_flow.pushed(loaded, ctx, payload.get("after") or pr["head"]["sha"],
                                     before=payload.get("before"))
        elif action == "closed" and pr.get("merged") and pr.get("merge_commit_sha"):
            merged_by = (pr.get("merged_by") or payload.get("sender") or {}).get("login")
            await pull_requests.record_merge(loaded, ctx, pr["merge_commit_sha"],
                                             by=f"gh:{merged_by}" if merged_by else None)
        elif action == "closed":
            await _closed(loaded.change, session, ctx)
        else:
            await pull_requests.schedule_sync(session, ctx, loaded.change, why=action or "")
        await refresh_card(session, ctx, loaded.change)
    return f"{action}: {len(changes)} change(s) updated"


async def _no_change_record(session: AsyncSession, ctx: Context, payload: dict) -> str | None:
    """The merge gate of a pull request that no change links (neutral or pending)."""
    if ctx.github is None:
        return None
    sha = payload["pull_request"]["head"]["sha"]
    repo_name = payload["repository"]["full_name"]
    await outbox.schedule(
        session, ctx, key=f"{merge_gate.NO_CHANGE}:{repo_name}:{sha}", kind=merge_gate.NO_CHANGE,
        payload={"repo": repo_name, "sha": sha,
                 "installation": (payload.get("installation") or {}).get("id")})
    return f"no change links this pull request: the {CHECK_NAME} check says so"


async def _closed(change: Change, session: AsyncSession, ctx: Context) -> None:
    info = dict(change.pr_info)
    if info.get("state") == "closed":
        return
    info.update(state="closed", merged=False)
    change.pr_info = info
    await audit(session, ctx, change, "github", "pr_closed", url=change.pr_url)
    await thread_note(session, ctx, change, "The pull request was closed without merging.")


async def on_review(session: AsyncSession, ctx: Context, payload: dict,
                    delivery: str) -> str | None:
    action = payload.get("action")
    if action not in ("submitted", "dismissed"):
        return None
    pr, review = payload["pull_request"], payload["review"]
    changes = await github_store.changes_linking(session, payload["repository"]["full_name"],
                                                 int(pr["number"]))
    state = (review.get("state") or "").upper()
    if action == "submitted" and state == "COMMENTED":
        return "a comment, not a decision: nothing to record"
    for change in changes:
        if action == "dismissed":
            await pull_requests.schedule_sync(session, ctx, change, why="review dismissed")
            continue
        await outbox.schedule(
            session, ctx, key=f"github_review:{change.id}:{review['id']}:{delivery}",
            kind="github_review", change_id=change.id, payload={"review": {
                "id": review["id"], "login": review["user"]["login"], "state": state,
                "submitted_at": review["submitted_at"], "commit_id": review["commit_id"],
            }},
        )
    return f"review {action}: {len(changes)} change(s)"


async def on_ping(session: AsyncSession, ctx: Context, payload: dict, delivery: str) -> str:
    return "pong"


EVENTS: dict[str, EventHandler] = {
    "ping": on_ping,
    "check_run": on_check_run,
    "check_suite": on_check_suite,
    "status": on_status,
    "pull_request": on_pull_request,
    "pull_request_review": on_review,
    "deployment_status": github_deployments.on_deployment_status,
    "deployment_protection_rule": deploy_gate.on_protection_rule,
    "issue_comment": login_proof.on_issue_comment,
}
