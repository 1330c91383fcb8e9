"""The GitHub client: real PyGithub (through GitHubClient) against FakeGitHub on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from datetime import UTC, datetime

import aiohttp
import pytest
from github.GithubException import GithubException

from bot.github.client import (
    Check,
    CiResult,
    GitHubAuthError,
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
    PrRef,
    parse_pr_url,
    verify_webhook_signature,
)
from tests.fake_github import FakeGitHub, fixtures_dir

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
OTHER_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
REF = PrRef("github.com", "acme", "app", 7)


@pytest.fixture
async def fake():
    async with FakeGitHub(token="t0ken") as gh:
        gh.add_pull("acme", "app", 7, title="Bump the cache size", author="alice",
                    head_sha=SHA, files=["app/cache.py", "tests/test_cache.py"])
        yield gh


@pytest.fixture
async def client(fake: FakeGitHub):
    c = GitHubClient("t0ken", fake.base_url, timeout=5.0)
    yield c
    await c.close()


# --------------------------------------------------------------------------- parse_pr_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://github.com/acme/app/pull/12", PrRef("github.com", "acme", "app", 12)),
        ("https://github.com/acme/app/pull/12/files", PrRef("github.com", "acme", "app", 12)),
        ("https://github.com/acme/app/pull/12#discussion_r1",
         PrRef("github.com", "acme", "app", 12)),
        ("  https://github.com/acme/app/pull/12/  ", PrRef("github.com", "acme", "app", 12)),
        ("https://github.com/acme/app/pull/12?w=1", PrRef("github.com", "acme", "app", 12)),
        ("https://www.github.com/acme/my.app/pull/5/commits/abc",
         PrRef("github.com", "acme", "my.app", 5)),
        ("https://ghe.example.com/o/r/pull/3", PrRef("ghe.example.com", "o", "r", 3)),
        ("http://GHE.example.com:8443/o/r/pull/3", PrRef("ghe.example.com:8443", "o", "r", 3)),
        ("<https://github.com/acme/app/pull/12|acme/app#12>",
         PrRef("github.com", "acme", "app", 12)),
        ("<https://github.com/acme/app/pull/12>", PrRef("github.com", "acme", "app", 12)),
    ],
)
def test_parse_pr_url_accepts_pull_request_links(text: str, expected: PrRef) -> None:
    assert parse_pr_url(text) == expected


def test_pr_ref_names_and_url() -> None:
    ref = parse_pr_url("https://ghe.example.com/o/r/pull/3/files")
    assert ref.full_name == "o/r"
    assert ref.url == "https://ghe.example.com/o/r/pull/3"
    assert parse_pr_url(ref.url) == ref


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("https://github.com/acme/app/issues/12", "issue"),
        ("https://github.com/acme/app/pull", "number"),
        ("https://github.com/acme/app/pull/", "number"),
        ("https://github.com/acme/app/pull/abc", "number"),
        ("https://github.com/acme/app/pull/0", "number"),
        ("https://github.com/acme/app", "not a pull request link"),
        ("ftp://github.com/acme/app/pull/12", "not a pull request link"),
        ("github.com/acme/app/pull/12", "not a pull request link"),
        ("acme/app#12", "not a pull request link"),
        ("", "pull request link"),
        ("https://github.com/acme/app/commit/abc", "commit"),
    ],
)
def test_parse_pr_url_rejects_with_a_human_message(text: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_pr_url(text)
    assert says in str(info.value)
    assert "OWNER/REPO" in str(info.value) or "1 or more" in str(info.value)


# --------------------------------------------------------------------------- pull requests


async def test_get_pull_pages_through_250_files(fake: FakeGitHub, client: GitHubClient) -> None:
    files = [f"src/module_{i:03}.py" for i in range(250)]
    fake.add_pull("acme", "app", 8, title="Big refactor", author="bob", head_sha=OTHER_SHA,
                  base="main", head="refactor", files=files)
    ref = PrRef("github.com", "acme", "app", 8)

    pull = await client.get_pull(ref)

    assert pull.files == tuple(files)
    assert (pull.ref, pull.title, pull.author) == (ref, "Big refactor", "bob")
    assert (pull.base, pull.head, pull.head_sha) == ("main", "refactor", OTHER_SHA)
    assert (pull.state, pull.merged, pull.merge_sha) == ("open", False, None)
    assert pull.url == "https://github.com/acme/app/pull/8"
    file_pages = [r for r in fake.log if r.path == "/repos/acme/app/pulls/8/files"]
    assert [r.query.get("page", "1") for r in file_pages] == ["1", "2", "3"]
    assert all(r.query["per_page"] == "100" for r in file_pages)


async def test_get_pull_merged_and_head_moves(fake: FakeGitHub, client: GitHubClient) -> None:
    fake.add_pull("acme", "app", 9, title="Done", author="carol", head_sha=SHA, files=["x"],
                  merged=True, merge_sha=OTHER_SHA)
    merged = await client.get_pull(PrRef("github.com", "acme", "app", 9))
    assert (merged.state, merged.merged, merged.merge_sha) == ("closed", True, OTHER_SHA)

    fake.set_head("acme", "app", 7, OTHER_SHA)
    assert (await client.get_pull(REF)).head_sha == OTHER_SHA


async def test_first_commit_is_the_oldest_listed_with_its_author_date(
    fake: FakeGitHub, client: GitHubClient
) -> None:
    assert await client.first_commit_at(REF) is None  # GitHub lists none: nothing known
    fake.add_commit("acme", "app", 7, OTHER_SHA, datetime(2026, 3, 2, 9, 15, tzinfo=UTC))
    fake.add_commit("acme", "app", 7, SHA, datetime(2026, 3, 1, 8, 0, tzinfo=UTC))  # rebased
    assert await client.first_commit_at(REF) == datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    with pytest.raises(GitHubNotFound):
        await client.first_commit_at(PrRef("github.com", "acme", "app", 99))


async def test_enterprise_base_url_with_api_prefix() -> None:
    async with FakeGitHub(prefix="/api/v3", html_url="https://ghe.example.com") as fake:
        fake.add_pull("o", "r", 3, title="GHE", author="dana", head_sha=SHA,
                      files=[f"f{i}" for i in range(120)])
        assert fake.base_url.endswith("/api/v3")
        async with GitHubClient("any", fake.base_url) as client:
            ref = parse_pr_url("https://ghe.example.com/o/r/pull/3")
            pull = await client.get_pull(ref)
        assert pull.url == ref.url
        assert len(pull.files) == 120


# --------------------------------------------------------------------------- CI


async def test_ci_green_combines_check_runs_and_statuses(
    fake: FakeGitHub, client: GitHubClient
) -> None:
    fake.add_check_run("acme", "app", SHA, "build")
    fake.add_check_run("acme", "app", SHA, "lint", conclusion="neutral")
    fake.add_check_run("acme", "app", SHA, "docs", conclusion="skipped")
    fake.add_status("acme", "app", SHA, "ci/jenkins", "failure")
    fake.add_status("acme", "app", SHA, "ci/jenkins", "success")  # the newest one counts
    fake.add_status("acme", "app", SHA, "security/scan", "success",
                    target_url="https://scanner.example.com/r/1")

    ci = await client.get_ci("acme/app", SHA)

    assert ci.state == "success"
    assert ci.sha == SHA
    assert ci.failing == ()
    assert {(c.name, c.state) for c in ci.checks} == {
        ("build", "success"), ("lint", "neutral"), ("docs", "skipped"),
        ("ci/jenkins", "success"), ("security/scan", "success"),
    }
    assert Check("security/scan", "success", "https://scanner.example.com/r/1") in ci.checks


async def test_ci_red_names_the_failing_check_and_its_url(
    fake: FakeGitHub, client: GitHubClient
) -> None:
    fake.add_check_run("acme", "app", SHA, "build")
    failing = fake.add_check_run("acme", "app", SHA, "unit-tests", conclusion="failure")
    fake.add_check_run("acme", "app", SHA, "e2e", status="in_progress", conclusion=None)
    fake.add_status("acme", "app", SHA, "deploy/preview", "error",
                    target_url="https://ci.example.com/42")

    ci = await client.get_ci("acme/app", SHA)

    assert ci.state == "failure"  # red wins over pending
    assert [(c.name, c.url) for c in ci.failing] == [
        ("unit-tests", failing["html_url"]),
        ("deploy/preview", "https://ci.example.com/42"),
    ]
    assert [c.name for c in ci.pending] == ["e2e"]


@pytest.mark.parametrize("conclusion", ["cancelled", "timed_out", "action_required"])
async def test_ci_other_red_conclusions(
    fake: FakeGitHub, client: GitHubClient, conclusion: str
) -> None:
    fake.add_check_run("acme", "app", SHA, "build", conclusion=conclusion)
    ci = await client.get_ci("acme/app", SHA)
    assert ci.state == "failure"
    assert [c.name for c in ci.failing] == ["build"]


@pytest.mark.parametrize(
    ("runs", "statuses"),
    [
        ([("build", "in_progress", None)], []),
        ([("build", "queued", None), ("lint", "completed", "success")], []),
        ([("lint", "completed", "success")], [("ci/jenkins", "pending")]),
        ([], []),  # nothing reported at all
    ],
)
async def test_ci_pending(
    fake: FakeGitHub, client: GitHubClient, runs: list, statuses: list
) -> None:
    for name, status, conclusion in runs:
        fake.add_check_run("acme", "app", SHA, name, status=status, conclusion=conclusion)
    for context, state in statuses:
        fake.add_status("acme", "app", SHA, context, state)
    ci = await client.get_ci("acme/app", SHA)
    assert ci.state == "pending"
    assert ci.failing == ()


def test_ci_result_failing_is_computed_from_checks() -> None:
    ci = CiResult("s", "failure", (Check("a", "success", None), Check("b", "timed_out", "u")))
    assert ci.failing == (Check("b", "timed_out", "u"),)


async def test_ci_unknown_repository_is_not_found(client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFound) as info:
        await client.get_ci("acme/nope", SHA)
    assert "does not exist" in info.value.message


async def test_get_ci_rejects_a_bad_repository_name(client: GitHubClient) -> None:
    with pytest.raises(ValueError):
        await client.get_ci("not-a-repo", SHA)


# --------------------------------------------------------------------------- reviews, labels


async def test_reviews(fake: FakeGitHub, client: GitHubClient) -> None:
    fake.add_review("acme", "app", 7, "bob", "CHANGES_REQUESTED", commit_id=OTHER_SHA,
                    submitted_at=datetime(2026, 2, 1, 9, 30, tzinfo=UTC))
    fake.add_review("acme", "app", 7, "bob", submitted_at=datetime(2026, 2, 1, 10, 0, tzinfo=UTC))
    fake.add_review("acme", "app", 7, "erin", "PENDING")  # a draft: not a review yet

    reviews = await client.get_reviews(REF)

    assert [(r.login, r.state, r.commit_id) for r in reviews] == [
        ("bob", "CHANGES_REQUESTED", OTHER_SHA),
        ("bob", "APPROVED", SHA),
    ]
    assert reviews[1].submitted_at == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    assert all(r.submitted_at.utcoffset() is not None for r in reviews)


async def test_add_label(fake: FakeGitHub, client: GitHubClient) -> None:
    await client.add_label(REF, "change:CHG-12")
    await client.add_label(REF, "change:CHG-12")
    await client.add_label(REF, "risk:high")
    assert fake.labels("acme", "app", 7) == ["change:CHG-12", "risk:high"]
    posts = [r for r in fake.log if r.method == "POST"]
    assert [r.path for r in posts] == ["/repos/acme/app/issues/7/labels"] * 3
    assert posts[0].body == ["change:CHG-12"]


# --------------------------------------------------------------------------- errors


async def test_missing_pull_request_is_not_found(client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFound) as info:
        await client.get_pull(PrRef("github.com", "acme", "app", 404))
    assert info.value.message == "the pull request does not exist or the token cannot see it"
    assert not isinstance(info.value, GithubException)
    with pytest.raises(GitHubNotFound):
        await client.add_label(PrRef("github.com", "acme", "other", 7), "x")


async def test_server_error_is_unavailable_then_recovers(
    fake: FakeGitHub, client: GitHubClient
) -> None:
    fake.fail(status=500)
    with pytest.raises(GitHubUnavailable) as info:
        await client.get_pull(REF)
    assert "500" in info.value.message
    assert (await client.get_pull(REF)).title == "Bump the cache size"


async def test_fault_in_the_middle_of_paging(fake: FakeGitHub, client: GitHubClient) -> None:
    fake.add_pull("acme", "app", 8, title="Big", author="bob", head_sha=SHA,
                  files=[f"f{i}" for i in range(150)])
    ref = PrRef("github.com", "acme", "app", 8)
    fake.fail(status=502, after=2)  # the pull request and page 1 pass; page 2 fails
    with pytest.raises(GitHubUnavailable):
        await client.get_pull(ref)
    assert [r.query.get("page") for r in fake.log] == [None, None, "2"]
    assert len((await client.get_pull(ref)).files) == 150


async def test_timeout_is_unavailable(fake: FakeGitHub) -> None:
    fake.delay(1.0)
    async with GitHubClient("t0ken", fake.base_url, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(GitHubUnavailable) as info:
            await client.get_pull(REF)
        assert time.monotonic() - started < 0.95
    assert "0.5 s" in info.value.message


async def test_calls_run_off_the_event_loop(fake: FakeGitHub, client: GitHubClient) -> None:
    fake.delay(0.3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        # Two one-request calls at once: each in its own thread, with its own connection.
        reviews, _ = await asyncio.gather(client.get_reviews(REF), client.add_label(REF, "x"))
        elapsed = time.monotonic() - started
    finally:
        task.cancel()
    assert reviews == [] and fake.labels("acme", "app", 7) == ["x"]
    assert elapsed < 0.5, elapsed  # concurrent: one after the other would take 0.6 s
    assert ticks >= 10, ticks  # the loop kept running while PyGithub waited


async def test_rate_limit(fake: FakeGitHub, client: GitHubClient) -> None:
    reset = 1_900_000_000
    fake.rate_limit(reset_at=reset)
    with pytest.raises(GitHubRateLimited) as info:
        await client.get_pull(REF)
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert info.value.status == 403
    assert "rate limit" in info.value.message

    fake.rate_limit(reset_at=reset + 60, status=429)
    with pytest.raises(GitHubRateLimited) as info:
        await client.get_ci("acme/app", SHA)
    assert info.value.reset_at == datetime.fromtimestamp(reset + 60, UTC)


async def test_bad_credentials_and_forbidden_are_auth_errors(
    fake: FakeGitHub, client: GitHubClient
) -> None:
    fake.unauthorized()
    with pytest.raises(GitHubAuthError) as info:
        await client.get_pull(REF)
    assert "GITHUB_TOKEN" in info.value.message

    fake.fail(status=403)  # forbidden, but the rate limit is not used up
    with pytest.raises(GitHubAuthError):
        await client.add_label(REF, "x")

    async with GitHubClient("wrong", fake.base_url) as wrong:
        with pytest.raises(GitHubAuthError):
            await wrong.get_reviews(REF)


async def test_unreachable_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    async with GitHubClient("t", f"http://127.0.0.1:{port}", timeout=2.0) as client:
        with pytest.raises(GitHubUnavailable):
            await client.get_pull(REF)


async def test_on_call_hook_and_close(fake: FakeGitHub) -> None:
    seen: list[tuple[str, str]] = []
    client = GitHubClient("t0ken", fake.base_url, on_call=lambda op, out: seen.append((op, out)))
    await client.get_pull(REF)
    with pytest.raises(GitHubNotFound):
        await client.get_reviews(PrRef("github.com", "acme", "app", 1))
    assert seen == [("get_pull", "ok"), ("get_reviews", "GitHubNotFound")]
    await client.close()
    with pytest.raises(GitHubError):
        await client.get_pull(REF)


# --------------------------------------------------------------------------- the fake itself


async def test_fake_serves_only_its_own_urls_and_github_404s(fake: FakeGitHub) -> None:
    fake.add_check_run("acme", "app", SHA, "build")
    fake.add_status("acme", "app", SHA, "ci", "success")
    fake.add_review("acme", "app", 7, "bob")
    headers = {"Authorization": "token t0ken"}
    paths = [
        "/repos/acme/app", "/repos/acme/app/pulls/7", "/repos/acme/app/pulls/7/files",
        "/repos/acme/app/pulls/7/reviews", f"/repos/acme/app/commits/{SHA}/check-runs",
        f"/repos/acme/app/commits/{SHA}/status", f"/repos/acme/app/commits/{SHA}/statuses",
        f"/repos/acme/app/statuses/{SHA}", f"/repos/acme/app/commits/{SHA}",
        "/repos/acme/app/issues/7",
    ]
    async with aiohttp.ClientSession(headers=headers) as http:
        for path in paths:
            async with http.get(fake.base_url + path) as resp:
                assert resp.status == 200, path
                text = await resp.text()
            assert "api.github.com" not in text, path
            assert "Hello-World" not in text and "Codertocat" not in text, path
        async with http.get(fake.base_url + "/repos/acme/app/nope") as resp:
            assert resp.status == 404
            body = await resp.json()
    assert body["message"] == "Not Found"
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert ("GET", "/repos/acme/app/nope") in fake.requests


def test_fixtures_are_found() -> None:
    opened = fixtures_dir() / "octokit-webhooks/payload-examples/api.github.com/pull_request"
    assert json.loads((opened / "opened.payload.json").read_text())["pull_request"]["number"] == 2


# --------------------------------------------------------------------------- webhooks


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhook_signature() -> None:
    body = b'{"action":"opened"}'
    good = _sign("s3cret", body)
    assert verify_webhook_signature("s3cret", body, good)
    assert verify_webhook_signature("s3cret", body, good.upper().replace("SHA256=", "sha256="))
    assert not verify_webhook_signature("other", body, good)
    assert not verify_webhook_signature("s3cret", body + b" ", good)
    assert not verify_webhook_signature("s3cret", body, None)
    assert not verify_webhook_signature("s3cret", body, "")
    assert not verify_webhook_signature("s3cret", body, good.replace("sha256=", "sha1="))
    assert not verify_webhook_signature("s3cret", body, "sha256=zz" + good[9:])
    assert not verify_webhook_signature("s3cret", body, good[:-2])
    assert not verify_webhook_signature("", body, _sign("", body))
