"""GitHub webhooks of every malformed kind: verified before parsing (401), then signed but
malformed (400), never a 5xx; a database that does not answer is a 503 to redeliver."""

import copy
import json
import random
import uuid

from tests.github_flows import example, signature, webhook

EXAMPLES = {
    "check_run": "check_run/completed", "check_suite": "check_suite/completed",
    "deployment_status": "deployment_status", "ping": "ping",
    "pull_request": "pull_request/synchronize", "pull_request_review":
    "pull_request_review/submitted", "status": "status",
}
JUNK = [None, 0, -1, 10**12, 10**30, 1.5, "", "x\x00y", "\ud800", "a" * 5000, [], {}, [1],
        {"id": "x"}, True]


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield prefix + (key,)
            yield from _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for n, inner in enumerate(value[:3]):
            yield prefix + (n,)
            yield from _paths(inner, prefix + (n,))


def _mutate(payload: dict, rng: random.Random) -> dict:
    mutated = copy.deepcopy(payload)
    paths = list(_paths(mutated))
    for path in rng.sample(paths, min(len(paths), rng.choice([1, 1, 2, 5]))):
        parent = mutated
        try:
            for part in path[:-1]:
                parent = parent[part]
            if rng.random() < 0.2 and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = rng.choice(JUNK)
        except (KeyError, IndexError, TypeError):
            continue
    return mutated


async def test_malformed_signed_webhooks_get_400_never_a_5xx(bot):
    rng = random.Random(17)
    problems = []
    for n in range(140):
        event = rng.choice(list(EXAMPLES))
        payload = _mutate(example(EXAMPLES[event]), rng)
        reply = await webhook(bot, event, payload)
        if reply.status >= 500:
            problems.append(f"#{n} {event}: {reply.status} {reply.text[:200]}")
    assert not problems, "\n".join(problems[:10])


async def test_signed_bodies_that_are_not_json_objects_get_400(bot):
    for body, content_type in [(b"[]", "application/json"), (b"\xff\xfe", "application/json"),
                               (b"{", "application/json"), (b"1" * 5000, "application/json"),
                               (b"payload=%5B%5D", "application/x-www-form-urlencoded")]:
        headers = {"Content-Type": content_type, "X-GitHub-Event": "pull_request",
                   "X-GitHub-Delivery": str(uuid.uuid4()),
                   "X-Hub-Signature-256": signature(body)}
        async with bot.http.post(bot.url + "/github/webhook", data=body, headers=headers) as r:
            assert r.status == 400, (body, await r.text())


async def test_a_webhook_while_the_database_is_down_is_a_503_to_redeliver(bot, tmp_path):
    from tests.slack.test_bad_input import _database_down

    await _database_down(bot, tmp_path)
    reply = await webhook(bot, "pull_request", example("pull_request/synchronize"))
    assert reply.status == 503
    assert "redelivery" in json.loads(reply.text)["error"]
