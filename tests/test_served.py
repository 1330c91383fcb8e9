"""tests/served.py itself: a real `changebot serve` process answers signed requests, stops
cleanly on SIGTERM and dies on SIGKILL."""

from tests.served import served


async def test_a_served_process_answers_change_help_and_stops_on_sigterm(
        slack, database_url, tmp_path):
    async with served(slack=slack, database_url=database_url, workdir=tmp_path) as bot:
        reply = await bot.command("alice", "help")
        assert reply.status == 200, bot.log()
        assert "/change new" in reply.text
        assert await bot.stop() == 0, bot.log()
        assert not bot.running


async def test_a_killed_process_dies_at_once(slack, database_url, tmp_path):
    async with served(slack=slack, database_url=database_url, workdir=tmp_path) as bot:
        assert await bot.kill() == -9
        assert not bot.running


async def test_a_served_process_with_github_takes_its_signed_webhooks(
        slack, database_url, tmp_path):
    import json

    from tests.fake_github import FakeGitHub
    from tests.github_flows import TOKEN, example, signature

    body = json.dumps(example("ping")).encode()
    async with FakeGitHub(token=TOKEN) as github, served(
            slack=slack, database_url=database_url, workdir=tmp_path, github=github) as bot:
        for sign, status in ((signature(body), 200), (signature(body, "forged"), 401)):
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "ping",
                       "X-GitHub-Delivery": f"d-{status}", "X-Hub-Signature-256": sign}
            async with bot.http.post(bot.url + "/github/webhook", data=body,
                                     headers=headers) as reply:
                assert reply.status == status, (await reply.text(), bot.log())
