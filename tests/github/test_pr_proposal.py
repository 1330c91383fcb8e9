"""A change proposed from its pull request, over real webhooks against the fake GitHub: a
description that follows .github/pull_request_template.md opens the change (card, reviewers
asked, PR linked); one that lacks a field gets one comment listing what is missing and
nothing is created until it is edited into shape."""

from datetime import timedelta
from pathlib import Path

import pytest

from bot.github.pr_template import parse
from bot.insights.dora import Span, measure
from bot.insights.records import load_history
from bot.playground.standin.workspace import demo_policy
from bot.policy import GitHubPolicy
from tests.flows import card_text, cards, dms
from tests.github_flows import (
    BEFORE,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    audit_events,
    change_row,
    example,
)
from tests.github_flows import webhook as post_webhook

TEMPLATE = (Path(__file__).resolve().parents[2] / ".github"
            / "pull_request_template.md").read_text(encoding="utf-8")
FILLED = (TEMPLATE
          .replace("<!-- What changes, and why the business needs it now. -->",
                   "Index orders.created_at: the month-end report times out for finance.")
          .replace("- [ ] medium", "- [x] medium")
          .replace("<!-- The exact steps to undo it: revert and redeploy, previous image, "
                   "flag off… -->", "Revert this pull request and redeploy.")
          .replace("<!-- Unit, integration, manual checks: what ran and what it showed. -->",
                   "Ran the migration on last night's snapshot: 40 s, no locks."))


@pytest.fixture
def policy():
    return demo_policy(github=GitHubPolicy(change_label="change"))


def pull_request(action: str, body: str, *, labels: tuple[str, ...] = ()) -> dict:
    payload = example("pull_request/opened")
    payload["action"] = action
    pr = payload["pull_request"]
    pr.update(body=body, title="Index orders.created_at")
    pr["user"]["login"] = "alice-gh"
    pr["requested_reviewers"][0]["login"] = "bob-gh"
    pr["labels"] = [{"name": name} for name in labels]
    return payload


async def send(bot, action: str, body: str, **more) -> None:
    reply = await post_webhook(bot, "pull_request", pull_request(action, body, **more))
    assert reply.status in (200, 204), reply.text
    await bot.sweep()


@pytest.fixture(autouse=True)
def people(github):
    github.add_user("alice-gh", "alice@example.com")
    github.add_user("bob-gh", "bob@example.com")


def test_the_shipped_template_parses_leniently():
    assert parse(TEMPLATE).follows_template and parse(TEMPLATE).missing == (
        "description", "risk", "rollback_plan", "testing")
    assert parse(FILLED).complete and parse(FILLED).fields["risk"] == "medium"
    loose = parse("**Description:** a fix\nRisk: LOW\n### rollback\nrevert\nTesting: CI")
    assert loose.complete and loose.fields["risk"] == "low"
    assert not parse("## Risk\n- [x] low\n- [x] high").fields  # two risks: nothing guessed


async def test_a_pull_request_that_follows_the_template_opens_its_change(bot, github):
    await send(bot, "opened", FILLED)
    assert len(cards(bot)) == 1
    change = await change_row(bot, 1)
    assert (change.title, change.category, change.risk, change.author_id) == (
        "Index orders.created_at", "normal", "medium", "U0ALICE")
    assert change.rollback_plan == "Revert this pull request and redeploy."
    assert (change.pr_repo, change.pr_number) == (f"{OWNER}/{REPO}".lower(), NUMBER)
    assert change.reviewers == ["U0BOB"]
    assert "Index orders.created_at" in card_text(bot, 1)
    assert any("review" in m["text"].lower() and "CHG-1" in m["text"] for m in dms(bot, "bob"))
    assert any("follows the change template" in m["text"] for m in dms(bot, "alice"))
    [event] = await audit_events(bot, "proposed_from_github")
    assert event.detail["category_given"] is False
    assert change.pr_url == PR_URL

    await send(bot, "edited", FILLED)  # already linked: no second change
    assert len(cards(bot)) == 1


async def test_lead_time_starts_at_the_first_commit_of_the_linked_pull_request(bot, github):
    first = bot.clock.now() - timedelta(days=2, hours=3)
    github.add_commit(OWNER, REPO, NUMBER, "a" * 40, first)
    github.add_commit(OWNER, REPO, NUMBER, BEFORE, first + timedelta(days=1))
    await send(bot, "opened", FILLED)  # the webhook opens the change and links its PR
    change = await change_row(bot, 1)
    assert change.pr_info["first_commit_at"] == first.isoformat()
    proposed = change.created_at

    bot.clock.advance(timedelta(hours=5))
    reply = await post_webhook(bot, "deployment_status", example("deployment_status"))
    assert reply.status == 200, reply.text  # GitHub deployed its head, BEFORE
    span = Span(proposed - timedelta(days=7), bot.clock.now() + timedelta(seconds=1))
    async with bot.ctx.db.session() as session:
        figures = measure(await load_history(session, span), span)
    assert figures.lead_times == (bot.clock.now() - first,)  # not from the proposal
    assert figures.lead_time == timedelta(days=2, hours=8)

    await send(bot, "edited", FILLED)  # a later read keeps it, and does not ask again
    assert sum(r.path.endswith(f"/pulls/{NUMBER}/commits") for r in github.log) == 1
    assert (await change_row(bot, 1)).pr_info["first_commit_at"] == first.isoformat()


async def test_missing_fields_are_listed_in_one_comment_and_nothing_is_created(bot, github):
    half = FILLED.replace("Revert this pull request and redeploy.", "").replace(
        "- [x] medium", "- [ ] medium")
    await send(bot, "opened", half)
    await send(bot, "edited", half)  # the same fields still missing: no second comment
    [comment] = github.comments(OWNER, REPO, NUMBER)
    assert "- **Risk assessment (low / medium / high)**\n- **Rollback plan**" in comment
    assert "Testing performed" not in comment and ".github/pull_request_template.md" in comment
    assert cards(bot) == []

    await send(bot, "edited", FILLED)  # edited into shape
    assert len(cards(bot)) == 1 and len(github.comments(OWNER, REPO, NUMBER)) == 1


async def test_a_pull_request_without_the_template_or_the_label_is_left_alone(bot, github):
    await send(bot, "opened", "Fixes a typo in the README.")  # only the merge gate answers
    assert cards(bot) == [] and github.comments(OWNER, REPO, NUMBER) == []


async def test_the_policy_label_asks_for_a_change_even_without_the_template(bot, github):
    await send(bot, "labeled", "Fixes a typo in the README.", labels=("change",))
    [comment] = github.comments(OWNER, REPO, NUMBER)
    assert "Description and business justification" in comment
    assert cards(bot) == []
