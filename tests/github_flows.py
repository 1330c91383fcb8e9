"""GitHub's side for end-to-end tests: a fake GitHub for the bot's real PyGithub client, and
webhooks posted over real HTTP, signed as GitHub signs them, built from the real example
payloads of octokit/webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlmodel import select

from storage.models import Approval, AuditEvent, Change, Deployment, Reminder
from tests.fake_github import FakeGitHub, fixture
from tests.harness import BotHarness, Reply, start_bot

TOKEN = "ghp-test-token"
WEBHOOK_SECRET = "test-webhook-secret"

# The repository and pull request of the octokit example payloads.
OWNER, REPO, NUMBER = "Codertocat", "Hello-World", 2
PR_URL = f"https://github.com/{OWNER}/{REPO}/pull/{NUMBER}"
# Commits the example payloads name: synchronize goes BEFORE -> HEAD; deployment is of BEFORE.
BEFORE = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
STATUS_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def github_settings(base_url: str, **more: Any) -> dict[str, Any]:
    return {"github_token": TOKEN, "github_api_url": base_url,
            "github_webhook_secret": WEBHOOK_SECRET, "github_timeout": 3.0, **more}


def example(name: str) -> dict[str, Any]:
    """A fresh copy of a real webhook payload, e.g. "pull_request/synchronize"."""
    path = f"octokit-webhooks/payload-examples/api.github.com/{name}.payload.json"
    if name in ("status", "deployment_status", "ping"):
        path = f"octokit-webhooks/payload-examples/api.github.com/{name}/payload.json"
    return fixture(path)


def synchronize(before: str, after: str) -> dict[str, Any]:
    """The example `synchronize` webhook of a push moving the head from `before` to `after`."""
    payload = example("pull_request/synchronize")
    payload["before"], payload["after"] = before, after
    payload["pull_request"]["head"]["sha"] = after
    return payload


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def webhook(bot: BotHarness, event: str, payload: dict[str, Any], *,
                  delivery: str | None = None, secret: str | None = WEBHOOK_SECRET,
                  sign: str | None = None, settle: bool = True) -> Reply:
    """POST a webhook as GitHub does; the bot's background work is settled after (unless
    `settle` is false)."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "User-Agent": "GitHub-Hookshot/test"}
    if sign is not None:
        headers["X-Hub-Signature-256"] = sign
    elif secret is not None:
        headers["X-Hub-Signature-256"] = signature(body, secret)
    async with bot.http.post(bot.url + "/github/webhook", data=body, headers=headers) as r:
        reply = Reply(r.status, await r.text())
    if settle:
        await bot.settle()
    return reply


def approving(login: str, review_id: int) -> dict[str, Any]:
    """A review webhook: `login` approves the head commit HEAD."""
    payload = example("pull_request_review/submitted")
    payload["review"].update(state="approved", commit_id=HEAD, id=review_id,
                             submitted_at="2019-05-15T15:20:38Z")
    payload["review"]["user"]["login"] = login
    return payload


async def change_row(bot: BotHarness, change_id: int) -> Change:
    async with bot.ctx.db.session() as session:
        return (await session.exec(select(Change).where(Change.id == change_id))).one()


async def audit_actions(bot: BotHarness, change_id: int | None = None) -> list[str]:
    async with bot.ctx.db.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if change_id is not None:
            query = query.where(AuditEvent.change_id == change_id)
        return [e.action for e in (await session.exec(query)).all()]


async def audit_events(bot: BotHarness, action: str) -> list[AuditEvent]:
    async with bot.ctx.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await session.exec(query)).all())


async def approvals(bot: BotHarness, change_id: int) -> list[Approval]:
    async with bot.ctx.db.session() as session:
        query = select(Approval).where(Approval.change_id == change_id).order_by(Approval.id)
        return list((await session.exec(query)).all())


async def deployments(bot: BotHarness) -> list[Deployment]:
    async with bot.ctx.db.session() as session:
        return list((await session.exec(select(Deployment).order_by(Deployment.id))).all())


async def pending(bot: BotHarness, kind: str) -> list[Reminder]:
    async with bot.ctx.db.session() as session:
        query = select(Reminder).where(Reminder.kind == kind, Reminder.sent_at.is_(None),
                                       Reminder.cancelled_at.is_(None))
        return list((await session.exec(query.order_by(Reminder.due_at))).all())


def add_example_pull(fake: FakeGitHub, *, head_sha: str = BEFORE,
                     files: list[str] | None = None, author: str = "alice-gh") -> None:
    """The pull request of the example payloads, as the fake GitHub serves it."""
    fake.add_pull(OWNER, REPO, NUMBER, title="Update the README with new information.",
                  author=author, head_sha=head_sha, base="main", head="changes",
                  files=files if files is not None else ["README.md", "app/orders.py"])


async def start(db, slack, clock, policy, fake: FakeGitHub, **settings: Any) -> BotHarness:
    return await start_bot(db=db, slack=slack, clock=clock, policy=policy,
                           settings=github_settings(fake.base_url, **settings))
