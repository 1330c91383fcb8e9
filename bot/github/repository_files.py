"""Files of a repository read through GitHub, for code owners (bot.github.codeowners): the
CODEOWNERS file where GitHub looks for it, and the members of a team it names. Part of
`GitHubClient` (PyGithub in a worker thread, errors as `GitHubError`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.github.codeowners_rules import LOCATIONS
from bot.github.errors import GitHubNotFound
from bot.github.reads import CodeOwnersFile, split_full_name

if TYPE_CHECKING:
    from github import Github

T = TypeVar("T")


class RepositoryFiles:
    async def _run(self, operation: str, work: Callable[[Github], T], *, not_found: str,
                   repo: str | None = None) -> T:
        raise NotImplementedError  # GitHubClient's

    async def get_codeowners(self, owner_repo: str, ref: str) -> CodeOwnersFile | None:
        """The repository's CODEOWNERS at `ref`, where GitHub looks for it (the first of
        .github/, the root, docs/); None when there is none."""
        full_name = split_full_name(owner_repo)

        def work(gh: Github) -> CodeOwnersFile | None:
            import github  # loaded by then: the client made `gh`

            repo = gh.get_repo(full_name)
            for path in LOCATIONS:
                try:
                    found = repo.get_contents(path, ref=ref)
                except github.UnknownObjectException:
                    continue
                if isinstance(found, list) or found.type != "file":
                    return CodeOwnersFile(path, None, "it is a directory, not a file")
                if found.encoding != "base64":
                    return CodeOwnersFile(path, None, "GitHub does not give its content "
                                          "(larger than 1 MB?)")
                try:
                    return CodeOwnersFile(path, base64.b64decode(found.content)
                                          .decode("utf-8"), "")
                except ValueError:
                    return CodeOwnersFile(path, None, "it is not UTF-8 text")
            return None

        return await self._run("get_codeowners", work, repo=full_name,
                               not_found=GitHubNotFound.default_message)

    async def get_team_members(self, org: str, slug: str) -> list[str]:
        """The logins of a team's members (`@org/team` in CODEOWNERS); needs the App's or
        token's read access to the organisation's members."""

        def work(gh: Github) -> list[str]:
            team = gh.get_organization(org).get_team_by_slug(slug)
            return [member.login for member in team.get_members()]

        return await self._run("get_team_members", work,
                               not_found=f"GitHub has no team @{org}/{slug} the bot can see")

