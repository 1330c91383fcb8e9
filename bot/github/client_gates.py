"""The GitHub calls of the gates where changes ship (mixed into bot.github.client's
GitHubClient): the `Changebot` commit status and check run, the answer to a deployment
protection rule, the pull requests of a commit, and which installation serves a repository.
Each runs PyGithub in a worker thread through the client's `_run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.github.errors import GitHubNotFound, translate
from bot.github.reads import CommitPull, split_full_name
from bot.runtime.clock import Clock

if TYPE_CHECKING:
    from github import Github

    from bot.github.app_auth import InstallationTokens

T = TypeVar("T")


class GateCalls:
    tokens: InstallationTokens | None
    timeout: float
    _clock: Clock

    async def _run(self, operation: str, work: Callable[[Github], T], *, not_found: str,
                   repo: str | None = None) -> T:
        raise NotImplementedError

    async def set_status(self, owner_repo: str, sha: str, state: str, description: str,
                         target_url: str | None, context: str) -> None:
        """A commit status (token and App mode): state pending, success, failure or error."""
        full_name = split_full_name(owner_repo)

        def work(gh: Github) -> None:
            commit = gh.get_repo(full_name).get_commit(sha)
            if target_url:
                commit.create_status(state, target_url, description[:140], context)
            else:
                commit.create_status(state, description=description[:140], context=context)

        await self._run("set_status", work, not_found=GitHubNotFound.default_message,
                        repo=full_name)

    async def put_check_run(self, owner_repo: str, sha: str, name: str, *, run_id: int | None,
                            status: str, conclusion: str | None, title: str, summary: str,
                            details_url: str | None) -> int:
        """Create the check run `name` on `sha`, or update `run_id` (App mode only). Returns
        the run's id."""
        full_name = split_full_name(owner_repo)
        fields: dict[str, Any] = {"status": status,
                                  "output": {"title": title[:255], "summary": summary[:65000]}}
        if conclusion is not None:
            fields["conclusion"] = conclusion
        if details_url:
            fields["details_url"] = details_url

        def work(gh: Github) -> int:
            repo = gh.get_repo(full_name)
            if run_id is not None:
                repo.get_check_run(run_id).edit(**fields)
                return run_id
            return int(repo.create_check_run(name, sha, **fields).id)

        return await self._run("put_check_run", work, not_found=GitHubNotFound.default_message,
                               repo=full_name)

    async def find_check_run(self, owner_repo: str, sha: str, name: str) -> int | None:
        """The latest check run `name` of `sha`, if there is one (App mode)."""
        full_name = split_full_name(owner_repo)

        def work(gh: Github) -> int | None:
            runs = gh.get_repo(full_name).get_commit(sha).get_check_runs(
                check_name=name)
            ids = [int(run.id) for run in runs if run.name == name]
            return max(ids, default=None)

        return await self._run("find_check_run", work, not_found=GitHubNotFound.default_message,
                               repo=full_name)

    async def answer_protection_rule(self, owner_repo: str, run_id: int, environment: str,
                                     state: str | None, comment: str) -> None:
        """Answer a deployment protection rule: state "approved" or "rejected", or None for a
        status report that keeps the job waiting. PyGithub has no method for this endpoint,
        so its requester posts it (App mode: only the App may answer)."""
        full_name = split_full_name(owner_repo)
        body: dict[str, Any] = {"environment_name": environment, "comment": comment[:1024]}
        if state is not None:
            body["state"] = state

        def work(gh: Github) -> None:
            gh.requester.requestJsonAndCheck(
                "POST", f"/repos/{full_name}/actions/runs/{int(run_id)}/deployment_protection_rule",
                input=body)

        await self._run("answer_protection_rule", work,
                        not_found=GitHubNotFound.default_message, repo=full_name)

    async def pulls_of_commit(self, owner_repo: str, sha: str) -> list[CommitPull]:
        """The pull requests GitHub associates with a commit (its head, its merge commit, or
        one of its commits): `GET /repos/{owner}/{repo}/commits/{sha}/pulls`."""
        full_name = split_full_name(owner_repo)

        def work(gh: Github) -> list[CommitPull]:
            pulls = gh.get_repo(full_name).get_commit(sha).get_pulls()
            return [CommitPull(number=int(p.number), head_sha=p.head.sha,
                               merge_sha=p.merge_commit_sha if p.merged else None)
                    for p in pulls]

        return await self._run("pulls_of_commit", work,
                               not_found=GitHubNotFound.default_message, repo=full_name)

    async def installation_matches(self, owner_repo: str, installation_id: int) -> bool:
        """Whether `installation_id` is the installation GitHub reports for the repository
        (`GET /repos/{owner}/{repo}/installation`, cached; asked again once when it differs,
        as the App may have been reinstalled). False when the App is not installed there."""
        tokens = self.tokens
        if tokens is None:
            return True
        full_name = split_full_name(owner_repo)

        def check() -> bool:
            if tokens.installation_for(full_name) == installation_id:
                return True
            return tokens.installation_for(full_name, fresh=True) == installation_id

        try:
            return await asyncio.to_thread(check)
        except Exception as exc:  # the App's own calls: no installation's Github to run them
            error = translate(exc, not_found=GitHubNotFound.default_message,
                              now=self._clock.now(), timeout=self.timeout)
            if isinstance(error, GitHubNotFound):
                return False
            raise error from exc
