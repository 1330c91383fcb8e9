"""`changebot socket`: the same listeners, reached over Slack's Socket Mode WebSocket."""

import pytest

from bot.app import close_context, connect_socket_mode, create_context, identify
from bot.playground.standin import requests as slack_requests
from bot.playground.standin.workspace import demo_policy
from bot.settings import Config, ConfigError, Settings
from storage.db import Database


async def test_a_slash_command_over_socket_mode_is_acknowledged_with_its_answer(
    db, slack, clock
):
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_app_token="xapp-test",
                        slack_api_url=slack.base_url, database_url=db.url)
    ctx = create_context(Config(settings, demo_policy()), clock=clock, db=Database(db.url))
    await identify(ctx)
    handler = await connect_socket_mode(ctx)
    try:
        payload = slack_requests.slash_command_payload(
            user="U0ALICE", user_name="alice", text="help", channel="C0CHANGES",
            channel_name="changes", response_url=slack.response_url(user="U0ALICE",
                                                                    channel="C0CHANGES"),
            trigger_id=slack_requests.new_trigger_id(),
        )
        ack = await slack.socket_mode.send("slash_commands", payload)
        assert ack["envelope_id"].startswith("envelope-")
        assert "/change new" in str(ack["payload"]["blocks"])
        assert ack["payload"]["response_type"] == "ephemeral"
    finally:
        await handler.close_async()
        await close_context(ctx)


async def test_socket_mode_with_a_wrong_app_token_does_not_connect(db, slack, clock):
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_app_token="xapp-nope",
                        slack_api_url=slack.base_url, database_url=db.url)
    ctx = create_context(Config(settings, demo_policy()), clock=clock, db=Database(db.url))
    try:
        with pytest.raises(ConfigError, match="SLACK_APP_TOKEN: Slack refused it"):
            await connect_socket_mode(ctx)
    finally:
        await close_context(ctx)
