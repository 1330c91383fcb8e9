"""GitHub App mode: the App's JWT (RS256, a key made at test time) is checked by the fake
GitHub, installation tokens are cached by the injected clock and fetched again shortly
before they expire, and contradicting settings stop the start with one line each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.github.app_auth import AppCredentials
from bot.github.client import GitHubClient, GitHubNotFound, PrRef
from bot.runtime.clock import ManualClock
from bot.settings import ConfigError, load_config
from tests.fake_github import FakeGitHub
from tests.github.app_keys import APP_ID, INSTALLATION, key_pair

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
REF = PrRef("github.com", "acme", "app", 7)


@pytest.fixture
async def fake(clock: ManualClock):
    async with FakeGitHub(token="not-the-app") as gh:
        gh.enable_app(APP_ID, key_pair()[1])
        gh.add_installation(INSTALLATION, ("acme", "app"))
        gh.now = clock.now
        gh.add_pull("acme", "app", 7, title="Bump", author="alice", head_sha=SHA,
                    files=["app/cache.py"])
        yield gh


@pytest.fixture
async def client(fake: FakeGitHub, clock: ManualClock):
    c = GitHubClient(None, fake.base_url, app=AppCredentials(str(APP_ID), key_pair()[0]),
                     timeout=5.0, clock=clock)
    yield c
    await c.close()


async def test_reads_with_an_installation_token_found_through_the_app_jwt(
        client: GitHubClient, fake: FakeGitHub) -> None:
    pull = await client.get_pull(REF)
    assert pull.title == "Bump"
    assert ("GET", "/repos/acme/app/installation") in fake.requests
    assert fake.tokens_issued == 1
    token_requests = [r for r in fake.log if r.path.startswith("/app/")]
    assert token_requests[0].headers["Authorization"].startswith("Bearer ey")
    reads = [r for r in fake.log if r.path == "/repos/acme/app/pulls/7"]
    assert reads[0].headers["Authorization"].startswith("token ghs_")


async def test_the_installation_token_is_cached_until_shortly_before_it_expires(
        client: GitHubClient, fake: FakeGitHub, clock: ManualClock) -> None:
    await client.get_pull(REF)
    clock.advance(timedelta(minutes=50))
    await client.get_pull(REF)
    assert fake.tokens_issued == 1  # still valid for 10 minutes: reused
    clock.advance(timedelta(minutes=6))  # 4 minutes left: fetched again before it fails
    await client.get_pull(REF)
    assert fake.tokens_issued == 2
    clock.advance(timedelta(minutes=2))
    await client.get_pull(REF)
    assert fake.tokens_issued == 2


async def test_a_webhooks_installation_spares_the_lookup(client: GitHubClient,
                                                         fake: FakeGitHub) -> None:
    client.remember_installation("acme/app", INSTALLATION)
    await client.get_ci("acme/app", SHA)
    assert ("GET", "/repos/acme/app/installation") not in fake.requests


async def test_a_jwt_signed_with_another_key_is_refused(fake: FakeGitHub,
                                                        clock: ManualClock) -> None:
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = wrong.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()).decode()
    c = GitHubClient(None, fake.base_url, app=AppCredentials(str(APP_ID), pem), timeout=5.0,
                     clock=clock)
    try:
        with pytest.raises(Exception) as raised:
            await c.get_pull(REF)
        assert "401" in str(raised.value) or "credentials" in str(raised.value).lower()
        assert fake.tokens_issued == 0
    finally:
        await c.close()


async def test_a_repository_outside_the_installations_is_not_found(client: GitHubClient,
                                                                  fake: FakeGitHub) -> None:
    fake.add_pull("other", "repo", 1, title="x", author="a", head_sha=SHA)
    with pytest.raises(GitHubNotFound):
        await client.get_pull(PrRef("github.com", "other", "repo", 1))


async def test_check_runs_and_the_protection_rule_need_the_app(client: GitHubClient,
                                                               fake: FakeGitHub) -> None:
    run_id = await client.put_check_run("acme/app", SHA, "Changebot", run_id=None,
                                        status="in_progress", conclusion=None, title="t",
                                        summary="s", details_url="https://example.com/c")
    assert await client.put_check_run("acme/app", SHA, "Changebot", run_id=run_id,
                                      status="completed", conclusion="success", title="t",
                                      summary="s", details_url=None) == run_id
    assert fake.check_runs("acme", "app", SHA)["Changebot"]["conclusion"] == "success"
    await client.answer_protection_rule("acme/app", 77, "production", None, "waiting")
    await client.answer_protection_rule("acme/app", 77, "production", "approved", "ok")
    assert [a.get("state") for a in fake.protection_answers_for("acme", "app", 77)] == [
        None, "approved"]


async def test_a_personal_token_cannot_answer_a_protection_rule(fake: FakeGitHub) -> None:
    c = GitHubClient("not-the-app", fake.base_url, timeout=5.0)
    try:
        with pytest.raises(Exception) as raised:
            await c.answer_protection_rule("acme/app", 77, "production", "approved", "ok")
        assert "personal access token" in str(raised.value) or "403" in str(raised.value)
    finally:
        await c.close()


# --------------------------------------------------------------------------- start-up


@pytest.fixture
def base_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_FILE",
                 "GITHUB_TOKEN", "CHANGEBOT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("CHANGEBOT_CHANNELS__CHANGES", "C1")
    monkeypatch.setenv("CHANGEBOT_CHANNELS__ENGINEERING", "C2")
    monkeypatch.setenv("CHANGEBOT_GROUPS__SECURITY", "S1")
    monkeypatch.setenv("CHANGEBOT_GROUPS__TECH_LEADS", "S2")


def problems(mode: str = "serve") -> list[str]:
    try:
        load_config(mode, env_file=None)  # type: ignore[arg-type]
    except ConfigError as exc:
        return exc.problems
    return []


def test_app_settings_that_agree_start(base_env, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", str(APP_ID))
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", key_pair()[0].replace("\n", "\\n"))
    assert problems() == []
    monkeypatch.delenv("GITHUB_APP_PRIVATE_KEY")
    (tmp_path / "app.pem").write_text(key_pair()[0])
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(tmp_path / "app.pem"))
    assert problems() == []


@pytest.mark.parametrize(("env", "line"), [
    ({"GITHUB_APP_ID": "42"}, "GITHUB_APP_PRIVATE_KEY: missing: GITHUB_APP_ID is set"),
    ({"GITHUB_APP_PRIVATE_KEY": "x"}, "GITHUB_APP_ID: missing"),
    ({"GITHUB_APP_ID": "my-app", "GITHUB_APP_PRIVATE_KEY": "x"}, "is not an App id"),
    ({"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY": "not a key"},
     "GITHUB_APP_PRIVATE_KEY: not a readable private key"),
    ({"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY_FILE": "/nonexistent/app.pem"},
     "GITHUB_APP_PRIVATE_KEY_FILE: cannot read /nonexistent/app.pem"),
])
def test_contradicting_app_settings_stop_the_start_with_one_line(
        base_env, monkeypatch, env: dict[str, str], line: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = problems()
    assert len(found) == 1
    assert found[0].startswith(line) or line in found[0]
    assert "\n" not in found[0]
