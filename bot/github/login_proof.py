"""Proof that a GitHub login belongs to the Slack person who claims it.

`/change github <login>` used to link the login at once, so anyone could make another
person's GitHub approvals count as theirs (a tech lead typing `/change github bob-gh`). Now
it hands out a one-time code (bot.github.accounts.claim); the link is made when a
pull-request comment holding the code arrives from that very login, in a webhook whose
signature the bot verified. Links made by a verified public e-mail address need no code.
"""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import Context
from bot.github import accounts
from bot.runtime.sweeper import Payload
from bot.slack import outbox
from storage import github_store, repo
from storage.models import Reminder

ADOPT = "github_login_adopt"
_CODE = re.compile(r"\b(CB-[A-HJ-NP-Z2-9]{6})\b")


async def on_issue_comment(session: AsyncSession, ctx: Context, payload: dict,
                           delivery: str) -> str | None:
    """A pull-request comment: a one-time code from the login that was claimed links it."""
    if payload.get("action") != "created" or "pull_request" not in payload["issue"]:
        return None
    comment = payload["comment"]
    found = _CODE.search((comment.get("body") or "").upper())
    if found is None:
        return None
    login = comment["user"]["login"]
    now = ctx.clock.now()
    pending = await github_store.claim_by_code(session, found.group(1))
    if pending is None or pending.used_at is not None or pending.expires_at <= now:
        return "no open login claim has this code: nothing linked"
    if pending.github_login != login.lower():
        return f"the code was posted by `{login}`, not by the login claimed: nothing linked"
    pending.used_at = now
    session.add(pending)
    slack_user = pending.slack_user_id
    if not await github_store.add_user_link(session, login=login, slack_user=slack_user,
                                            how="comment", now=now):
        return f"GitHub {login} was linked already: nothing changed"
    await repo.add_audit(session, at=now, actor=slack_user, action="github_login_linked",
                         detail={"login": login, "slack_user": slack_user,
                                 "by": "pull request comment",
                                 "comment": comment.get("html_url")})
    await outbox.schedule(session, ctx, key=f"{ADOPT}:{pending.id}", kind=ADOPT,
                          payload={"login": login, "slack_user": slack_user})
    return f"GitHub {login} is proven and linked"


async def adopt_proven(ctx: Context, reminder: Reminder) -> None:
    """Once the link is committed: the login's reviews count, and the person is told."""
    proof = AdoptPayload.model_validate(reminder.payload)
    login, slack_user = proof.login, proof.slack_user
    counted = await accounts.adopt(ctx, login, slack_user)
    more = f" {counted} earlier review(s) by `{login}` now count as yours." if counted else ""
    async with ctx.db.session() as session:
        await outbox.schedule(
            session, ctx, key=f"{reminder.key}:dm", kind="dm", recipient=slack_user,
            payload={"text": f"Linked GitHub `{login}` to you (proven by your comment on "
                             f"GitHub): your reviews on GitHub count as your approvals.{more}",
                     "link_card": False})
    ctx.sweeper.kick()


class AdoptPayload(Payload):
    login: str
    slack_user: str
