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
