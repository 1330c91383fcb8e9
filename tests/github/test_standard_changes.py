"""Standard changes are pre-approved patterns, over real HTTP and the fake GitHub:
`/change new` offers the policy's templates, a change declared standard that fits none is
handled as normal (the card says why), and a pull request touching migrations suggests
high risk without forcing it."""

import pytest

from bot.playground.standin.workspace import demo_policy
from bot.policy import ProposalPolicy, Review, StandardTemplate
from tests.flows import card_text, click, dms, open_modal, propose, thread
from tests.github_flows import (
    HEAD,
    NUMBER,
    OWNER,
    PR_URL,
    REPO,
    add_example_pull,
    audit_events,
    change_row,
    example,
    webhook,
)

LOCKS = StandardTemplate(name="Dependency update", covers="lock-file-only version bumps",
                         only_paths=["**/poetry.lock", "**/package-lock.json"],
                         fields={"rollback_plan": "Revert the pull request and redeploy.",
                                 "testing": "CI on the lock file."})
RESTART = StandardTemplate(name="Restart a service", covers="a rolling restart")
CONFIG = StandardTemplate(name="Config tweak", covers="a reviewed configuration value",
                          labels=["config-only", "Feature-Flag"])


@pytest.fixture
def policy():
    # Standard changes need no approval here, so being handled as normal shows in the gate.
    return demo_policy(proposal=ProposalPolicy(templates=[LOCKS, CONFIG]),
                       review=Review(standard=0))


async def test_change_new_offers_the_templates_and_prefills_one(bot):
    reply = await bot.command("alice", "new")
    assert "`/change new dependency-update` — Dependency update: lock-file-only" in \
        reply.json()["text"]
    await bot.settle()  # the modal it opens too, before counting the next one
    view = await open_modal(bot, "alice", "new dependency-update")
    values = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert values["rollback_plan"]["initial_value"] == "Revert the pull request and redeploy."
    assert values["category"]["initial_option"]["value"] == "standard"
    unknown = await bot.command("alice", "new patch-tuesday")
    assert "There is no standard-change template `patch-tuesday`" in unknown.json()["text"]
    assert "`/change new dependency-update`" in unknown.json()["text"]


async def test_a_lock_file_bump_is_a_standard_change(bot, github):
    add_example_pull(github, files=["poetry.lock", "web/package-lock.json"])
    change_id = await propose(bot, category="standard", risk="low", pr_url=PR_URL)
    text = card_text(bot, change_id)
    assert ":package: Standard change: “Dependency update”" in text
    assert "no approval required by policy" in text


async def test_a_standard_change_that_fits_no_template_is_handled_as_normal(bot, github):
    add_example_pull(github, files=["poetry.lock", "app/orders.py"])
    change_id = await propose(bot, category="standard", risk="low", pr_url=PR_URL)
    text = card_text(bot, change_id)
    assert ("handled as a normal change: it fits no standard-change template (“Dependency "
            "update” does not cover `app/orders.py`; “Config tweak” needs its pull request "
            "labelled `config-only` or `Feature-Flag`)") in text
    assert "0 of 1 approval" in text
    assert any("handled as a normal change" in n for n in thread(bot, change_id))
    [event] = await audit_events(bot, "standard_not_fitting")
    assert "app/orders.py" in event.detail["reason"]
    await click(bot, "bob", "change_approve", change_id)
    assert (await change_row(bot, change_id)).status == "approved"


async def test_a_pr_touching_migrations_suggests_high_risk_and_the_author_may_keep_medium(
        bot, github):
    add_example_pull(github, files=["db/migrations/0042_orders_index.py", "app/orders.py"])
    change_id = await propose(bot, risk="medium", pr_url=PR_URL)
    assert ("Suggested high-risk: its pull request touches `**/migrations/**` (database "
            "schema changes are high-risk); the author chose medium risk.") in card_text(
        bot, change_id)
    [told] = [m["text"] for m in dms(bot, "alice") if "touches" in m["text"]]
    assert "or keep *medium* — your choice is on the record" in told
    [event] = await audit_events(bot, "risk_suggested")
    assert event.detail["chosen"] == "medium" and event.detail["paths"] == ["**/migrations/**"]
    assert (await change_row(bot, change_id)).risk == "medium"  # a suggestion only


async def test_a_label_the_template_names_makes_it_standard_when_github_says_so(bot, github):
    add_example_pull(github, head_sha=HEAD, files=["config/checkout.yaml"])
    change_id = await propose(bot, category="standard", risk="low", pr_url=PR_URL)
    assert "“Config tweak” needs its pull request labelled `config-only`" in card_text(
        bot, change_id)
    assert "0 of 1 approval" in card_text(bot, change_id)

    # Labelled on GitHub (its case aside): the webhook has the pull request read again.
    github.add_label(OWNER, REPO, NUMBER, "feature-flag")
    payload = example("pull_request/labeled")
    payload["label"]["name"] = "feature-flag"
    reply = await webhook(bot, "pull_request", payload)
    assert reply.status < 300
    await bot.sweep()
    text = card_text(bot, change_id)
    assert ":package: Standard change: “Config tweak”" in text
    assert "no approval required by policy" in text

    # The label taken off: handled as normal again, the card saying why.
    github.remove_label(OWNER, REPO, NUMBER, "feature-flag")
    payload["action"] = "unlabeled"
    await webhook(bot, "pull_request", payload)
    await bot.sweep()
    assert "needs its pull request labelled" in card_text(bot, change_id)
