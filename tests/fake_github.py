"""A fake GitHub REST API on 127.0.0.1 for PyGithub (and so for `bot.github.GitHubClient`).

Objects are built from the real payloads in tests/fixtures (octokit/webhooks examples and
octokit/fixtures recordings, MIT): a copy of each is taken, every api.github.com URL in it is
rewritten to this server's base URL (PyGithub asserts that URLs in answers belong to the
server it talks to), and the fields a test cares about are overridden. Only the PR-file
entries have no fixture; their shape follows GitHub's "List pull requests files" docs.

    async with FakeGitHub() as gh:
        gh.add_pull("acme", "app", 7, title="Fix", author="alice", head_sha="abc", files=["a"])
        client = GitHubClient("token", gh.base_url)

Faults (`fail`, `delay`, `unauthorized`, `rate_limit`) apply to the next requests, in the
order they were asked for; `delay` applies to every request until `clear_faults()`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web

API = "https://api.github.com"
DOCS = "https://docs.github.com/rest"
_WEBHOOKS = Path("octokit-webhooks") / "payload-examples" / "api.github.com"
_OCTOKIT = Path("octokit-fixtures") / "scenarios" / "api.github.com"
_BODY = web.RequestKey("fake_github_body", object)


def fixtures_dir() -> Path:
    """tests/fixtures: the copies of real payloads this suite reads (see its SOURCES.md)."""
    return Path(__file__).resolve().parent / "fixtures"


@cache
def _load(relative: str) -> Any:
    with open(fixtures_dir() / relative, encoding="utf-8") as f:
        return json.load(f)


def fixture(relative: str) -> Any:
    """A fresh deep copy of one fixture file (path relative to tests/fixtures)."""
    return copy.deepcopy(_load(relative))


def _webhook(name: str) -> dict[str, Any]:
    return fixture(str(_WEBHOOKS / name))


def _octokit_exchange(scenario: str, method: str, path_suffix: str) -> dict[str, Any]:
    for exchange in fixture(str(_OCTOKIT / scenario / "normalized-fixture.json")):
        if exchange["method"] == method and exchange["path"].endswith(path_suffix):
            return exchange
    raise LookupError(f"no {method} …{path_suffix} in octokit fixture {scenario}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fake_id(*parts: object) -> int:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") or 1


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class _Fault:
    kind: str  # "fail", "unauthorized", "rate_limit"
    times: int
    status: int = 500
    reset_at: int = 0
    after: int = 0  # requests to let through before this fault starts


@dataclass
class _Pull:
    owner: str
    repo: str
    number: int
    title: str
    author: str
    head_sha: str
    base: str
    head: str
    files: list[str]
    merged: bool
    merge_sha: str | None
    state: str
    created_at: datetime
    labels: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    body: str = ""
    commits: list[tuple[str, datetime]] = field(default_factory=list)  # (sha, authored at)


class FakeGitHub:
    """GitHub-shaped REST API served by aiohttp; state is set with the `add_*` methods."""

    def __init__(
        self,
        *,
        token: str | None = None,
        prefix: str = "",
        html_url: str = "https://github.com",
    ) -> None:
        """`token`: when set, other tokens get 401. `prefix`: e.g. "/api/v3" (Enterprise)."""
        self.token = token
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.html_url = html_url.rstrip("/")
        self.log: list[RecordedRequest] = []
        self._repos: set[tuple[str, str]] = set()
        self._pulls: dict[tuple[str, str, int], _Pull] = {}
        self._check_runs: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self._statuses: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._emails: dict[str, str | None] = {}
        # Repository contents by (owner, repo, path): bytes, or None for a directory; the
        # `ref` each read asked for is in the log. Teams by (org, slug): member logins.
        self._contents: dict[tuple[str, str, str], bytes | None] = {}
        self._teams: dict[tuple[str, str], list[str]] = {}
        self._faults: list[_Fault] = []
        self._path_faults: dict[str, list[int]] = {}  # path prefix -> statuses to answer
        self._delay = 0.0
        self._wake = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._next_id = 1000
        # GitHub App mode (`enable_app`): the App's public key, its installations and the
        # installation tokens handed out, which expire by `now()` (a test's clock).
        self.app_id: int | None = None
        self._app_public_key: Any = None
        self.installations: dict[int, set[tuple[str, str]]] = {}
        self._installation_tokens: dict[str, tuple[int, datetime]] = {}
        self.token_lifetime = timedelta(hours=1)
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.check_runs_written: list[dict[str, Any]] = []
        # Every check run created through the API, duplicates included (GitHub keeps them
        # all; `check_runs` shows the latest of each name, as its `filter=latest` does).
        self.check_runs_created: list[dict[str, Any]] = []
        self._runs_by_id: dict[int, tuple[str, str, str, dict[str, Any]]] = {}
        # `hold`: the next request matching (method, path pattern) waits for `release()`.
        self._hold: tuple[str, re.Pattern[str]] | None = None
        self.holding = asyncio.Event()
        self._released = asyncio.Event()
        self.statuses_written: list[dict[str, Any]] = []
        # Deployment protection rules: answers received per (owner, repo, run id).
        self.protection_answers: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self._protection_failures: list[tuple[int, bool]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        routes = [
            web.get("/users/{login}", self._get_user),
            web.get("/repos/{owner}/{repo}", self._get_repo),
            web.get("/repos/{owner}/{repo}/pulls/{number:\\d+}", self._get_pull),
            web.get("/repos/{owner}/{repo}/pulls/{number:\\d+}/files", self._get_files),
            web.get("/repos/{owner}/{repo}/pulls/{number:\\d+}/reviews", self._get_reviews),
            web.get("/repos/{owner}/{repo}/pulls/{number:\\d+}/commits", self._get_pull_commits),
            web.get("/repos/{owner}/{repo}/commits/{sha}", self._get_commit),
            web.get("/repos/{owner}/{repo}/commits/{sha}/check-runs", self._get_check_runs),
            web.get("/repos/{owner}/{repo}/commits/{sha}/pulls", self._get_commit_pulls),
            web.get("/repos/{owner}/{repo}/commits/{sha}/status", self._get_combined_status),
            web.get("/repos/{owner}/{repo}/commits/{sha}/statuses", self._get_statuses),
            web.get("/repos/{owner}/{repo}/statuses/{sha}", self._get_statuses),
            web.get("/repos/{owner}/{repo}/contents/{path:.+}", self._get_contents),
            web.get("/orgs/{org}/teams/{slug}/members", self._get_team_members),
            web.get("/repos/{owner}/{repo}/issues/{number:\\d+}", self._get_issue),
            web.get("/repos/{owner}/{repo}/issues/{number:\\d+}/labels", self._get_labels),
            web.post("/repos/{owner}/{repo}/issues/{number:\\d+}/labels", self._post_labels),
            web.post("/repos/{owner}/{repo}/issues/{number:\\d+}/comments",
                     self._post_comment),
            web.post("/app/installations/{id:\\d+}/access_tokens", self._post_access_token),
            web.get("/repos/{owner}/{repo}/installation", self._get_installation),
            web.post("/repos/{owner}/{repo}/statuses/{sha}", self._post_status),
            web.post("/repos/{owner}/{repo}/check-runs", self._post_check_run),
            web.patch("/repos/{owner}/{repo}/check-runs/{id:\\d+}", self._patch_check_run),
            web.post("/repos/{owner}/{repo}/actions/runs/{run_id:\\d+}/deployment_protection_rule",
                     self._post_protection_rule),
        ]
        if self.prefix:
            sub = web.Application()
            sub.add_routes(routes)
            app.add_subapp(self.prefix, sub)
        else:
            app.add_routes(routes)
        self._wake = asyncio.Event()
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._base_url = f"http://127.0.0.1:{port}{self.prefix}"
        return self._base_url

    async def stop(self) -> None:
        self._wake.set()  # let delayed handlers finish at once
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGitHub:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("FakeGitHub is not started")
        return self._base_url

    # ------------------------------------------------------------------ state setters

    def add_repo(self, owner: str, repo: str) -> None:
        self._repos.add((owner, repo))

    def add_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        title: str,
        author: str,
        head_sha: str,
        base: str = "main",
        head: str = "feature",
        files: list[str] | None = None,
        merged: bool = False,
        merge_sha: str | None = None,
        state: str = "open",
    ) -> None:
        if merged:
            state = "closed"
        self.add_repo(owner, repo)
        self._pulls[(owner, repo, number)] = _Pull(
            owner=owner, repo=repo, number=number, title=title, author=author,
            head_sha=head_sha, base=base, head=head, files=list(files or []),
            merged=merged, merge_sha=merge_sha, state=state,
            created_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        )

    def set_head(self, owner: str, repo: str, number: int, sha: str) -> None:
        self._pull(owner, repo, number).head_sha = sha

    def merge(self, owner: str, repo: str, number: int, merge_sha: str) -> None:
        """The pull request is merged as `merge_sha` (no webhook is sent)."""
        pull = self._pull(owner, repo, number)
        pull.merged, pull.merge_sha, pull.state = True, merge_sha, "closed"

    def set_author(self, owner: str, repo: str, number: int, login: str) -> None:
        self._pull(owner, repo, number).author = login

    def add_check_run(
        self,
        owner: str,
        repo: str,
        sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
        *,
        details_url: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace: GitHub's `filter=latest`) the check run `name` on `sha`."""
        self.add_repo(owner, repo)
        run_id = self._new_id()
        run = self._check_runs.setdefault((owner, repo, sha), {})[name] = {
            "id": run_id, "name": name, "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "details_url": details_url,
        }
        self._runs_by_id[run_id] = (owner, repo, sha, run)
        return {"id": run_id, "html_url": f"{self.html_url}/{owner}/{repo}/runs/{run_id}"}

    def add_status(
        self,
        owner: str,
        repo: str,
        sha: str,
        context: str,
        state: str,
        *,
        target_url: str | None = None,
        description: str | None = None,
    ) -> None:
        """Add a commit status; the newest one of a context wins, as on GitHub."""
        self.add_repo(owner, repo)
        self._statuses.setdefault((owner, repo, sha), []).insert(0, {
            "id": self._new_id(), "context": context, "state": state,
            "target_url": target_url, "description": description,
        })

    def add_review(
        self,
        owner: str,
        repo: str,
        number: int,
        login: str,
        state: str = "APPROVED",
        commit_id: str | None = None,
        submitted_at: datetime | None = None,
        *,
        body: str | None = None,
    ) -> int:
        """Add a submitted review; returns its id (a webhook about it carries the same)."""
        pull = self._pull(owner, repo, number)
        review_id = self._new_id()
        pull.reviews.append({
            "id": review_id, "login": login, "state": state.upper(),
            "commit_id": commit_id or pull.head_sha,
            "submitted_at": submitted_at or datetime(2026, 1, 5, 11, 0, tzinfo=UTC),
            "body": body,
        })
        return review_id

    def add_commit(self, owner: str, repo: str, number: int, sha: str,
                   authored_at: datetime) -> None:
        """A commit of the pull request, in the order GitHub lists them (oldest first)."""
        self._pull(owner, repo, number).commits.append((sha, authored_at))

    def add_user(self, login: str, email: str | None = None) -> None:
        """A GitHub user; `email` is their public email (None: kept private, as by default)."""
        self._emails[login.lower()] = email

    def add_file(self, owner: str, repo: str, path: str, content: str | bytes | None) -> None:
        """A file of the repository (the same at every ref); None makes `path` a directory."""
        self.add_repo(owner, repo)
        self._contents[(owner, repo, path)] = (content.encode() if isinstance(content, str)
                                               else content)

    def add_team(self, org: str, slug: str, members: list[str]) -> None:
        self._teams[(org.lower(), slug.lower())] = list(members)

    def add_label(self, owner: str, repo: str, number: int, name: str) -> None:
        self._pull(owner, repo, number).labels.append(name)

    def remove_label(self, owner: str, repo: str, number: int, name: str) -> None:
        self._pull(owner, repo, number).labels.remove(name)

    def labels(self, owner: str, repo: str, number: int) -> list[str]:
        return list(self._pull(owner, repo, number).labels)

    def enable_app(self, app_id: int, public_key_pem: bytes) -> None:
        """GitHub App mode: JWTs signed by the App's key (RS256) are checked with this one."""
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        self.app_id = app_id
        self._app_public_key = load_pem_public_key(public_key_pem)

    def add_installation(self, installation_id: int, *repos: tuple[str, str]) -> None:
        self.installations[installation_id] = set(repos)
        for owner, repo in repos:
            self.add_repo(owner, repo)

    @property
    def tokens_issued(self) -> int:
        return sum(1 for r in self.log if r.method == "POST" and r.path.startswith("/app/"))

    def fail_protection_rule(self, status: int = 502, times: int = 1, *,
                             taken: bool = False) -> None:
        """The next `times` answers to a protection rule fail with `status`; `taken`: GitHub
        took the answer all the same (the response was lost on the way back)."""
        self._protection_failures += [(status, taken)] * times

    def protection_answers_for(self, owner: str, repo: str, run_id: int) -> list[dict[str, Any]]:
        return list(self.protection_answers.get((owner, repo, run_id), []))

    def commit_statuses(self, owner: str, repo: str, sha: str, context: str | None = None
                        ) -> list[dict[str, Any]]:
        """Statuses of `sha`, newest first (of `context` only, when given)."""
        return [s for s in self._statuses.get((owner, repo, sha), [])
                if context is None or s["context"] == context]

    def check_runs(self, owner: str, repo: str, sha: str) -> dict[str, dict[str, Any]]:
        return dict(self._check_runs.get((owner, repo, sha), {}))

    def created_check_runs(self, owner: str, repo: str, sha: str, name: str) -> list[int]:
        """Ids of the check runs `name` created on `sha` through the API."""
        return [r["id"] for r in self.check_runs_created
                if (r["owner"], r["repo"], r["sha"], r["name"]) == (owner, repo, sha, name)]

    def hold(self, method: str, path_pattern: str) -> None:
        """The next `method` request whose path matches `path_pattern` (a regex) waits,
        with `holding` set, until `release()`."""
        self._hold = (method, re.compile(path_pattern))
        self.holding = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, faults included; path without query."""
        return [(r.method, r.path) for r in self.log]

    # ------------------------------------------------------------------ faults

    def fail(self, status: int = 500, times: int = 1, *, after: int = 0) -> None:
        """Answer the next `times` requests with `status`, after letting `after` through."""
        self._faults.append(_Fault("fail", times, status=status, after=after))

    def fail_path(self, prefix: str, status: int = 502, times: int = 1) -> None:
        """Answer the next `times` requests whose path starts with `prefix` with `status`
        (GitHub down for one kind of read while the others go through)."""
        self._path_faults.setdefault(prefix, []).extend([status] * times)

    def unauthorized(self, times: int = 1) -> None:
        self._faults.append(_Fault("unauthorized", times, status=401))

    def rate_limit(self, reset_at: int, times: int = 1, *, status: int = 403) -> None:
        self._faults.append(_Fault("rate_limit", times, status=status, reset_at=reset_at))

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def clear_faults(self) -> None:
        self._faults.clear()
        self._delay = 0.0
        self._wake.set()
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ plumbing

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _pull(self, owner: str, repo: str, number: int) -> _Pull:
        try:
            return self._pulls[(owner, repo, number)]
        except KeyError:
            raise KeyError(f"no pull request {owner}/{repo}#{number} in FakeGitHub") from None

    def _rate_headers(self, remaining: int = 4999, reset_at: int | None = None) -> dict[str, str]:
        # Header names and values as in octokit/fixtures' recorded GitHub answers.
        recorded = _octokit_exchange("errors", "post", "/labels")["headers"]
        headers = {
            k: str(v) for k, v in recorded.items()
            if k.startswith("x-ratelimit-") or k in ("x-github-media-type",)
        }
        headers["x-ratelimit-remaining"] = str(remaining)
        headers["x-ratelimit-used"] = str(5000 - remaining)
        headers["x-ratelimit-reset"] = str(reset_at or int(time.time()) + 3600)
        return headers

    def _json(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        all_headers = self._rate_headers()
        all_headers.update(headers or {})
        return web.json_response(data, status=status, headers=all_headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None,
               **extra: Any) -> web.Response:
        body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
        return self._json(body, status=status, headers=headers)

    def _not_found(self) -> web.Response:
        return self._error(404, "Not Found")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix):] or "/"
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        request[_BODY] = body
        self.log.append(RecordedRequest(
            request.method, path, dict(request.query), dict(request.headers), body
        ))
        if self._hold is not None and self._hold[0] == request.method and self._hold[1].search(
                path):
            self._hold = None
            self.holding.set()
            await self._released.wait()
        if self._delay > 0:
            wake = self._wake
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._delay)
        for prefix, statuses in self._path_faults.items():
            if path.startswith(prefix) and statuses:
                return self._fault_response(_Fault("fail", 1, status=statuses.pop(0)))
        if self._faults:
            fault = self._faults[0]
            if fault.after > 0:
                fault.after -= 1
            else:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.pop(0)
                return self._fault_response(fault)
        refused = self._refused(path, request.headers.get("Authorization", ""))
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return self._not_found()
        except web.HTTPMethodNotAllowed:
            return self._not_found()

    def _fault_response(self, fault: _Fault) -> web.Response:
        if fault.kind == "unauthorized":
            return self._error(401, "Bad credentials")
        if fault.kind == "rate_limit":
            headers = self._rate_headers(remaining=0, reset_at=fault.reset_at)
            return self._error(
                fault.status, "API rate limit exceeded for user ID 1000.", headers=headers,
                documentation_url=f"{DOCS}/overview/rate-limits-for-the-rest-api",
            )
        if fault.status >= 500:
            return self._error(fault.status, "Server Error")
        return self._error(fault.status, "Injected failure")

    def _paginate(self, request: web.Request, items: list[Any], *, key: str | None = None,
                  extra: dict[str, Any] | None = None) -> web.Response:
        """A page of `items` (per_page default 30, max 100) with GitHub's `Link` header."""
        try:
            per_page = min(max(int(request.query.get("per_page", "30")), 1), 100)
            page = max(int(request.query.get("page", "1")), 1)
        except ValueError:
            return self._error(422, "Invalid request.")
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page: page * per_page]

        def link(n: int) -> str:
            query = dict(request.query)
            query.update({"per_page": str(per_page), "page": str(n)})
            path = request.path  # keeps the prefix: the URL must be under the base URL
            root = self.base_url[: len(self.base_url) - len(self.prefix)]
            return f"<{root}{path}?{urllib.parse.urlencode(query)}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        headers = {"Link": ", ".join(rels)} if rels else {}
        data: Any = chunk
        if key is not None:
            data = {"total_count": len(items), key: chunk, **(extra or {})}
        return self._json(data, headers=headers)

    # ------------------------------------------------------------------ shapes

    def _rebase(self, obj: Any, owner: str, repo: str, login: str | None = None) -> Any:
        """Point a fixture's Codertocat/Hello-World URLs and names at this server and repo."""
        text = json.dumps(obj)
        base = self.base_url
        text = text.replace(f"{API}/repos/Codertocat/Hello-World", f"{base}/repos/{owner}/{repo}")
        text = text.replace("https://github.com/Codertocat/Hello-World",
                            f"{self.html_url}/{owner}/{repo}")
        text = text.replace("Codertocat/Hello-World", f"{owner}/{repo}")
        text = text.replace('"Hello-World"', json.dumps(repo))
        text = text.replace(API, base)
        text = text.replace("https://github.com", self.html_url)
        text = text.replace("Codertocat", login or owner)
        return json.loads(text)

    def _rebase_any_repo(self, obj: Any, owner: str, repo: str) -> Any:
        """Like `_rebase`, for fixtures recorded on any repository (octokit/fixtures)."""
        text = json.dumps(obj)
        text = re.sub(re.escape(API) + r'/repos/[^/"]+/[^/"{]+',
                      f"{self.base_url}/repos/{owner}/{repo}", text)
        text = re.sub(r'https://github\.com/[^/"]+/[^/"{]+', f"{self.html_url}/{owner}/{repo}",
                      text)
        return json.loads(text.replace(API, self.base_url))

    def _user(self, login: str) -> dict[str, Any]:
        user = self._rebase(_webhook("pull_request/opened.payload.json")["sender"], "x", "x", login)
        user["id"] = _fake_id("user", login)
        return user

    def _repo_json(self, owner: str, repo: str) -> dict[str, Any]:
        data = self._rebase(_webhook("pull_request/opened.payload.json")["repository"], owner, repo)
        data["id"] = _fake_id("repo", owner, repo)
        data["owner"] = self._user(owner)
        data["default_branch"] = "main"
        return data

    def _pull_json(self, p: _Pull) -> dict[str, Any]:
        data = self._rebase(_webhook("pull_request/opened.payload.json")["pull_request"],
                            p.owner, p.repo)
        api = f"{self.base_url}/repos/{p.owner}/{p.repo}"
        html = f"{self.html_url}/{p.owner}/{p.repo}"
        n = p.number
        merged_at = _iso(p.created_at.replace(hour=12)) if p.merged else None
        closed_at = merged_at if p.merged else (
            _iso(p.created_at.replace(hour=12)) if p.state == "closed" else None
        )
        data.update({
            "url": f"{api}/pulls/{n}",
            "id": _fake_id("pull", p.owner, p.repo, n),
            "html_url": f"{html}/pull/{n}",
            "diff_url": f"{html}/pull/{n}.diff",
            "patch_url": f"{html}/pull/{n}.patch",
            "issue_url": f"{api}/issues/{n}",
            "commits_url": f"{api}/pulls/{n}/commits",
            "review_comments_url": f"{api}/pulls/{n}/comments",
            "comments_url": f"{api}/issues/{n}/comments",
            "statuses_url": f"{api}/statuses/{p.head_sha}",
            "number": n,
            "state": p.state,
            "title": p.title,
            "user": self._user(p.author),
            "created_at": _iso(p.created_at),
            "updated_at": _iso(p.created_at),
            "closed_at": closed_at,
            "merged_at": merged_at,
            "merged": p.merged,
            "merge_commit_sha": p.merge_sha,
            "merged_by": self._user(p.owner) if p.merged else None,
            "labels": [self._label_json(p.owner, p.repo, name) for name in p.labels],
            "assignees": [],
            "requested_reviewers": [],
            "changed_files": len(p.files),
            "_links": {
                "self": {"href": f"{api}/pulls/{n}"},
                "html": {"href": f"{html}/pull/{n}"},
                "issue": {"href": f"{api}/issues/{n}"},
                "comments": {"href": f"{api}/issues/{n}/comments"},
                "review_comments": {"href": f"{api}/pulls/{n}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{n}/commits"},
                "statuses": {"href": f"{api}/statuses/{p.head_sha}"},
            },
        })
        for side, ref, sha in (("head", p.head, p.head_sha), ("base", p.base, None)):
            part = data[side]
            part["ref"] = ref
            part["label"] = f"{p.owner}:{ref}"
            if sha is not None:
                part["sha"] = sha
            part["user"] = self._user(p.owner)
            part["repo"] = self._repo_json(p.owner, p.repo)
        return data

    def _file_json(self, p: _Pull, index: int, filename: str) -> dict[str, Any]:
        # No fixture holds a PR-file entry; fields as documented for GET …/pulls/{n}/files.
        blob = hashlib.sha1(filename.encode()).hexdigest()  # noqa: S324 - a fake blob id
        quoted = urllib.parse.quote(filename)
        html = f"{self.html_url}/{p.owner}/{p.repo}"
        return {
            "sha": blob,
            "filename": filename,
            "status": "modified",
            "additions": 1,
            "deletions": 0,
            "changes": 1,
            "blob_url": f"{html}/blob/{p.head_sha}/{quoted}",
            "raw_url": f"{html}/raw/{p.head_sha}/{quoted}",
            "contents_url": f"{self.base_url}/repos/{p.owner}/{p.repo}/contents/{quoted}"
                            f"?ref={p.head_sha}",
            "patch": f"@@ -0,0 +1 @@\n+change {index}",
        }

    def _label_json(self, owner: str, repo: str, name: str) -> dict[str, Any]:
        exchange = _octokit_exchange("add-labels-to-issue", "post", "/issues/1/labels")
        label = exchange["response"][0]
        label.update({
            "id": _fake_id("label", owner, repo, name),
            "url": f"{self.base_url}/repos/{owner}/{repo}/labels/{urllib.parse.quote(name)}",
            "name": name,
        })
        return label

    def _review_json(self, p: _Pull, r: dict[str, Any]) -> dict[str, Any]:
        data = self._rebase(_webhook("pull_request_review/submitted.payload.json")["review"],
                            p.owner, p.repo)
        api = f"{self.base_url}/repos/{p.owner}/{p.repo}"
        html = f"{self.html_url}/{p.owner}/{p.repo}/pull/{p.number}#pullrequestreview-{r['id']}"
        data.update({
            "id": r["id"],
            "user": self._user(r["login"]),
            "body": r["body"] or "",
            "state": r["state"],
            "commit_id": r["commit_id"],
            "submitted_at": None if r["state"] == "PENDING" else _iso(r["submitted_at"]),
            "html_url": html,
            "pull_request_url": f"{api}/pulls/{p.number}",
            "_links": {"html": {"href": html},
                       "pull_request": {"href": f"{api}/pulls/{p.number}"}},
        })
        return data

    def _check_run_json(self, owner: str, repo: str, sha: str, run: dict[str, Any]
                        ) -> dict[str, Any]:
        data = self._rebase(_webhook("check_run/completed.payload.json")["check_run"], owner, repo)
        api = f"{self.base_url}/repos/{owner}/{repo}"
        run_id = run["id"]
        started = "2026-01-05T10:05:00Z"
        data.update({
            "id": run_id,
            "name": run["name"],
            "head_sha": sha,
            "status": run["status"],
            "conclusion": run["conclusion"],
            "url": f"{api}/check-runs/{run_id}",
            "html_url": f"{self.html_url}/{owner}/{repo}/runs/{run_id}",
            "details_url": run["details_url"] or f"{self.html_url}/{owner}/{repo}/runs/{run_id}",
            "started_at": None if run["status"] == "queued" else started,
            "completed_at": "2026-01-05T10:09:00Z" if run["status"] == "completed" else None,
            "pull_requests": [],
        })
        data["output"]["annotations_url"] = f"{api}/check-runs/{run_id}/annotations"
        if isinstance(data.get("check_suite"), dict):
            data["check_suite"]["head_sha"] = sha
        return data

    def _status_json(self, owner: str, repo: str, sha: str, s: dict[str, Any]) -> dict[str, Any]:
        event = self._rebase(_webhook("status/payload.json"), owner, repo)
        return {
            "url": f"{self.base_url}/repos/{owner}/{repo}/statuses/{sha}",
            "avatar_url": event["avatar_url"],
            "id": s["id"],
            "node_id": event["commit"]["node_id"],
            "state": s["state"],
            "description": s["description"],
            "target_url": s["target_url"],
            "context": s["context"],
            "created_at": event["created_at"],
            "updated_at": event["updated_at"],
            "creator": event["sender"],
        }

    def _known_sha(self, owner: str, repo: str, sha: str) -> bool:
        key = (owner, repo, sha)
        return (
            key in self._check_runs
            or key in self._statuses
            or any(p.head_sha == sha or p.merge_sha == sha
                   for (o, r, _), p in self._pulls.items() if (o, r) == (owner, repo))
        )

    # ------------------------------------------------------------------ handlers

    def _pull_from(self, request: web.Request) -> _Pull | None:
        m = request.match_info
        return self._pulls.get((m["owner"], m["repo"], int(m["number"])))

    async def _get_user(self, request: web.Request) -> web.Response:
        login = request.match_info["login"]
        known = {p.author.lower() for p in self._pulls.values()} | {
            r["login"].lower() for p in self._pulls.values() for r in p.reviews
        }
        if login.lower() not in self._emails and login.lower() not in known:
            return self._not_found()
        user = self._user(login)
        # GET /users/{username} adds the public profile to the short user shape.
        user.update({
            "name": None, "company": None, "blog": "", "location": None,
            "email": self._emails.get(login.lower()), "hireable": None, "bio": None,
            "twitter_username": None, "public_repos": 1, "public_gists": 0,
            "followers": 0, "following": 0,
            "created_at": "2019-05-15T15:19:25Z", "updated_at": "2019-05-15T15:19:25Z",
        })
        return self._json(user)

    async def _get_repo(self, request: web.Request) -> web.Response:
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        if (owner, repo) not in self._repos:
            return self._not_found()
        return self._json(self._repo_json(owner, repo))

    async def _get_pull(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        return self._json(self._pull_json(pull)) if pull else self._not_found()

    async def _get_files(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        files = [self._file_json(pull, i, f) for i, f in enumerate(pull.files)]
        return self._paginate(request, files)

    async def _get_reviews(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        return self._paginate(request, [self._review_json(pull, r) for r in pull.reviews])

    async def _get_pull_commits(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        return self._paginate(request, [self._commit_json(pull.owner, pull.repo, sha, at)
                                        for sha, at in pull.commits])

    def _commit_json(self, owner: str, repo: str, sha: str,
                     authored_at: datetime | None = None) -> dict[str, Any]:
        commit = self._rebase(_webhook("status/payload.json")["commit"], owner, repo)
        commit = json.loads(json.dumps(commit).replace(commit["sha"], sha))
        if authored_at is not None:
            commit["commit"]["author"]["date"] = _iso(authored_at)
        return commit

    async def _get_commit(self, request: web.Request) -> web.Response:
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        if not self._known_sha(owner, repo, sha):
            return self._error(422, f"No commit found for SHA: {sha}")
        commit = self._commit_json(owner, repo, sha)
        commit.setdefault("files", [])
        return self._json(commit)

    async def _get_check_runs(self, request: web.Request) -> web.Response:
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        if (owner, repo) not in self._repos:
            return self._not_found()
        runs = self._check_runs.get((owner, repo, sha), {})
        name = request.query.get("check_name")
        items = [self._check_run_json(owner, repo, sha, run) for run in runs.values()
                 if name is None or run["name"] == name]
        return self._paginate(request, items, key="check_runs")

    async def _get_commit_pulls(self, request: web.Request) -> web.Response:
        """The pull requests of a commit: here, those whose head or merge commit it is."""
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        if (owner, repo) not in self._repos:
            return self._not_found()
        items = [self._pull_json(p) for (o, r, _), p in sorted(self._pulls.items())
                 if (o, r) == (owner, repo) and sha in (p.head_sha, p.merge_sha)]
        return self._paginate(request, items)

    def _latest_statuses(self, owner: str, repo: str, sha: str) -> list[dict[str, Any]]:
        seen: set[str] = set()
        latest = []
        for s in self._statuses.get((owner, repo, sha), []):
            if s["context"] not in seen:
                seen.add(s["context"])
                latest.append(s)
        return latest

    async def _get_combined_status(self, request: web.Request) -> web.Response:
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        if (owner, repo) not in self._repos:
            return self._not_found()
        latest = self._latest_statuses(owner, repo, sha)
        states = {s["state"] for s in latest}
        if states & {"failure", "error"}:
            state = "failure"
        elif not latest or "pending" in states:
            state = "pending"
        else:
            state = "success"
        api = f"{self.base_url}/repos/{owner}/{repo}"
        return self._json({
            "state": state,
            "statuses": [self._status_json(owner, repo, sha, s) for s in latest],
            "sha": sha,
            "total_count": len(latest),
            "repository": self._repo_json(owner, repo),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        })

    async def _get_statuses(self, request: web.Request) -> web.Response:
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        if (owner, repo) not in self._repos:
            return self._not_found()
        items = [self._status_json(owner, repo, sha, s)
                 for s in self._statuses.get((owner, repo, sha), [])]
        return self._paginate(request, items)

    async def _get_contents(self, request: web.Request) -> web.Response:
        """GET …/contents/{path}: a file's content, base64 as GitHub sends it (documented
        shape of "Get repository content"), or a directory's listing."""
        m = request.match_info
        owner, repo, path = m["owner"], m["repo"], urllib.parse.unquote(m["path"])
        if (owner, repo) not in self._repos or (owner, repo, path) not in self._contents:
            return self._not_found()
        content = self._contents[(owner, repo, path)]
        api = f"{self.base_url}/repos/{owner}/{repo}"
        ref = request.query.get("ref", "main")

        def entry(name: str, kind: str) -> dict[str, Any]:
            html = f"{self.html_url}/{owner}/{repo}/blob/{ref}/{name}"
            return {"type": kind, "name": name.rsplit("/", 1)[-1], "path": name,
                    "sha": hashlib.sha1(name.encode()).hexdigest(),  # noqa: S324 - fake id
                    "size": len(content or b""), "url": f"{api}/contents/{name}?ref={ref}",
                    "html_url": html, "git_url": f"{api}/git/blobs/x", "download_url": None,
                    "_links": {"self": f"{api}/contents/{name}", "html": html,
                               "git": f"{api}/git/blobs/x"}}

        if content is None:
            return self._json([entry(f"{path}/README.md", "file")])
        return self._json({**entry(path, "file"), "encoding": "base64",
                           "content": base64.b64encode(content).decode() + "\n"})

    async def _get_team_members(self, request: web.Request) -> web.Response:
        m = request.match_info
        members = self._teams.get((m["org"].lower(), m["slug"].lower()))
        if members is None:
            return self._not_found()
        return self._paginate(request, [self._user(login) for login in members])

    async def _get_issue(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        # A pull request is also an issue: the issue shape recorded by octokit/fixtures.
        issue = _octokit_exchange("add-labels-to-issue", "post", "/issues")["response"]
        issue = self._rebase_any_repo(issue, pull.owner, pull.repo)
        api = f"{self.base_url}/repos/{pull.owner}/{pull.repo}"
        n = pull.number
        issue.update({
            "url": f"{api}/issues/{n}",
            "labels_url": f"{api}/issues/{n}/labels{{/name}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "events_url": f"{api}/issues/{n}/events",
            "html_url": f"{self.html_url}/{pull.owner}/{pull.repo}/pull/{n}",
            "id": _fake_id("issue", pull.owner, pull.repo, n),
            "number": n,
            "title": pull.title,
            "user": self._user(pull.author),
            "labels": [self._label_json(pull.owner, pull.repo, x) for x in pull.labels],
            "state": pull.state,
            "comments": 0,
            "pull_request": {
                "url": f"{api}/pulls/{n}",
                "html_url": f"{self.html_url}/{pull.owner}/{pull.repo}/pull/{n}",
                "diff_url": f"{self.html_url}/{pull.owner}/{pull.repo}/pull/{n}.diff",
                "patch_url": f"{self.html_url}/{pull.owner}/{pull.repo}/pull/{n}.patch",
            },
        })
        for key in ("reactions", "timeline_url"):
            issue.pop(key, None)
        return self._json(issue)

    async def _get_labels(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        return self._paginate(
            request, [self._label_json(pull.owner, pull.repo, n) for n in pull.labels]
        )

    def comments(self, owner: str, repo: str, number: int) -> list[str]:
        """The comments posted on a pull request, oldest first."""
        return list(self._pull(owner, repo, number).comments)

    async def _post_comment(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        body = request.get(_BODY)
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return self._error(422, "Invalid request.")
        pull.comments.append(body["body"])
        number = len(pull.comments)
        api = f"{self.base_url}/repos/{pull.owner}/{pull.repo}"
        stamp = "2026-11-25T10:00:00Z"
        return self._json({
            "id": number, "node_id": f"IC_{number}", "url": f"{api}/issues/comments/{number}",
            "html_url": f"https://github.com/{pull.owner}/{pull.repo}/pull/{pull.number}"
                        f"#issuecomment-{number}",
            "issue_url": f"{api}/issues/{pull.number}", "body": body["body"],
            "user": {"login": "changebot[bot]", "id": 1, "type": "Bot"},
            "created_at": stamp, "updated_at": stamp,
        }, status=201)

    async def _post_labels(self, request: web.Request) -> web.Response:
        pull = self._pull_from(request)
        if pull is None:
            return self._not_found()
        body = request.get(_BODY)
        names = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(names, list) or not all(
            isinstance(n, str) or (isinstance(n, dict) and isinstance(n.get("name"), str))
            for n in names
        ):
            return self._error(422, "Invalid request.")
        for n in names:
            name = n if isinstance(n, str) else n["name"]
            if name.lower() not in (x.lower() for x in pull.labels):
                pull.labels.append(name)
        return self._json([self._label_json(pull.owner, pull.repo, n) for n in pull.labels])

    # ------------------------------------------------------------------ GitHub App

    def _refused(self, path: str, authorization: str) -> web.Response | None:
        """401/403 as GitHub answers a request without the credentials it needs."""
        scheme, _, credential = authorization.partition(" ")
        if path.startswith("/app/") or path.endswith("/installation"):
            if self.app_id is None:
                return self._not_found()
            return None if self._valid_jwt(scheme, credential) else self._error(
                401, "A JSON web token could not be decoded")
        if credential in self._installation_tokens:
            installation, expires = self._installation_tokens[credential]
            if self.now() >= expires:
                return self._error(401, "Bad credentials")
            m = re.match(r"^/repos/([^/]+)/([^/]+)", path)
            if m and (m.group(1), m.group(2)) not in self.installations.get(installation, set()):
                return self._error(404, "Not Found")
            return None
        if self.token is not None and credential != self.token:
            return self._error(401, "Bad credentials")
        return None

    def _valid_jwt(self, scheme: str, credential: str) -> bool:
        if scheme != "Bearer" or self._app_public_key is None:
            return False
        try:
            claims = jwt.decode(credential, self._app_public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError:
            return False
        return str(claims["iss"]) == str(self.app_id) and claims["exp"] - claims["iat"] <= 660

    async def _post_access_token(self, request: web.Request) -> web.Response:
        installation = int(request.match_info["id"])
        if installation not in self.installations:
            return self._not_found()
        token = f"ghs_{installation}_{self._new_id()}"
        expires = self.now() + self.token_lifetime
        self._installation_tokens[token] = (installation, expires)
        return self._json({
            "token": token, "expires_at": _iso(expires),
            "permissions": {"checks": "write", "statuses": "write", "deployments": "write",
                            "actions": "read", "pull_requests": "read", "contents": "read",
                            "metadata": "read", "issues": "write"},
            "repository_selection": "selected",
        }, status=201)

    async def _get_installation(self, request: web.Request) -> web.Response:
        key = (request.match_info["owner"], request.match_info["repo"])
        for installation, repos in self.installations.items():
            if key in repos:
                return self._json({
                    "id": installation, "app_id": self.app_id, "target_type": "Organization",
                    "account": self._user(key[0]), "repository_selection": "selected",
                    "access_tokens_url":
                        f"{self.base_url}/app/installations/{installation}/access_tokens",
                    "repositories_url": f"{self.base_url}/installation/repositories",
                    "html_url": f"{self.html_url}/settings/installations/{installation}",
                    "permissions": {}, "events": [],
                    "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z",
                })
        return self._not_found()

    # ------------------------------------------------------------------ writes of the gates

    async def _post_status(self, request: web.Request) -> web.Response:
        m = request.match_info
        owner, repo, sha = m["owner"], m["repo"], m["sha"]
        body = request.get(_BODY)
        if not isinstance(body, dict) or body.get("state") not in (
            "pending", "success", "failure", "error"
        ):
            return self._error(422, "Validation Failed")
        context = body.get("context") or "default"
        self.add_status(owner, repo, sha, context, body["state"],
                        target_url=body.get("target_url"), description=body.get("description"))
        self.statuses_written.append({"sha": sha, **body})
        status = self._statuses[(owner, repo, sha)][0]
        return self._json(self._status_json(owner, repo, sha, status), status=201)

    def _apply_check_fields(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        run["status"] = body.get("status", run.get("status", "queued"))
        if "conclusion" in body:
            run["status"] = "completed"
            run["conclusion"] = body["conclusion"]
        elif run["status"] != "completed":
            run["conclusion"] = None
        if body.get("details_url"):
            run["details_url"] = body["details_url"]
        if isinstance(body.get("output"), dict):
            run["output"] = body["output"]

    async def _post_check_run(self, request: web.Request) -> web.Response:
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        body = request.get(_BODY)
        if not isinstance(body, dict) or not body.get("name") or not body.get("head_sha"):
            return self._error(422, "Validation Failed")
        if body.get("status") == "completed" and "conclusion" not in body:
            return self._error(422, "Validation Failed: conclusion is required")
        run: dict[str, Any] = {"id": self._new_id(), "name": body["name"], "details_url": None}
        self._apply_check_fields(run, body)
        sha = body["head_sha"]
        self._check_runs.setdefault((owner, repo, sha), {})[run["name"]] = run
        self._runs_by_id[run["id"]] = (owner, repo, sha, run)
        self.check_runs_written.append({"id": run["id"], "sha": sha, **body})
        self.check_runs_created.append({"id": run["id"], "owner": owner, "repo": repo,
                                        "sha": sha, "name": run["name"]})
        return self._json(self._check_run_json(owner, repo, sha, run), status=201)

    async def _patch_check_run(self, request: web.Request) -> web.Response:
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        run_id = int(request.match_info["id"])
        body = request.get(_BODY)
        if not isinstance(body, dict):
            return self._error(422, "Validation Failed")
        found = self._runs_by_id.get(run_id)
        if found is None or found[:2] != (owner, repo):
            return self._not_found()
        sha, run = found[2], found[3]
        self._apply_check_fields(run, body)
        self.check_runs_written.append({"id": run_id, "sha": sha, **body})
        return self._json(self._check_run_json(owner, repo, sha, run))

    async def _post_protection_rule(self, request: web.Request) -> web.Response:
        """Review custom deployment protection rules: a state decides (once); a comment
        alone is a status report, 10 at most per deployment; both need the App's token."""
        m = request.match_info
        key = (m["owner"], m["repo"], int(m["run_id"]))
        auth = request.headers.get("Authorization", "").partition(" ")[2]
        if auth not in self._installation_tokens:
            return self._error(403, "Resource not accessible by personal access token")
        body = request.get(_BODY)
        if (not isinstance(body, dict) or not body.get("environment_name")
                or body.get("state") not in (None, "approved", "rejected")
                or len(body.get("comment") or "") > 1024):
            return self._error(422, "Validation Failed")
        failure = self._protection_failures.pop(0) if self._protection_failures else None
        if failure is not None and not failure[1]:
            return self._error(failure[0], "Server Error")
        answers = self.protection_answers.setdefault(key, [])
        if any(a.get("state") for a in answers):
            return self._error(422, "No pending deployment protection rule for this run")
        if body.get("state") is None and len(answers) >= 10:
            return self._error(422, "Status report limit reached for this deployment")
        answers.append(dict(body))
        if failure is not None:
            return self._error(failure[0], "Server Error")
        return web.Response(status=204, headers=self._rate_headers())
