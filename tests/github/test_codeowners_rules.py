"""CODEOWNERS read as GitHub reads it: pure, no GitHub."""

import pytest

from bot.github.codeowners_rules import matches, owned_groups, owner_rule, parse


@pytest.mark.parametrize(("pattern", "path", "covered"), [
    ("*", "deep/down/file.py", True),
    ("*.js", "web/app/main.js", True),  # no inner slash: at any depth
    ("*.js", "web/app/main.ts", False),
    ("/docs/", "docs/guide/setup.md", True),  # a directory: everything beneath
    ("/docs/", "src/docs/x.md", False),  # anchored at the root
    ("docs/*", "docs/setup.md", True),
    ("docs/*", "docs/build-app/troubleshooting.md", False),  # GitHub: direct files only
    ("apps/", "src/apps/main.py", True),  # unanchored directory: at any depth
    ("/build/logs/", "build/logs/today.log", True),
    ("src/api", "src/api/orders.py", True),
    ("**/logs", "var/logs/x", True),
    ("Docs/", "docs/x", False),  # case sensitive
])
def test_patterns_cover_paths_as_on_github(pattern, path, covered):
    assert matches(pattern, path) is covered


def test_the_last_matching_line_wins_and_a_line_without_owners_unowns():
    parsed = parse("* @lead\n/app/ @app-team\n/app/generated/\n", "CODEOWNERS")
    assert owner_rule(parsed.rules, "app/orders.py").owners == ("@app-team",)
    assert owner_rule(parsed.rules, "README.md").owners == ("@lead",)
    groups = owned_groups(parsed.rules, ["app/orders.py", "app/generated/x.py", "README.md",
                                         "app/models.py"])
    assert [(g.pattern, g.files) for g in groups] == [
        ("/app/", ("app/orders.py", "app/models.py")), ("*", ("README.md",))]


def test_lines_github_would_skip_are_problems_with_their_line():
    parsed = parse("# owners\n*.py @a\n!*.md @b\n[ab].txt @c\n\\#x @d\nsrc/ bob\n"
                   "web/ @acme/web a@b.co  # trailing comment\n", ".github/CODEOWNERS")
    assert [r.pattern for r in parsed.rules] == ["*.py", "web/"]
    assert parsed.rules[1].owners == ("@acme/web", "a@b.co")
    assert parsed.problems == (
        ".github/CODEOWNERS line 3: `!*.md` negates a pattern, which CODEOWNERS does not "
        "support",
        ".github/CODEOWNERS line 4: `[ab].txt` uses a [ ] character range, which CODEOWNERS "
        "does not support",
        ".github/CODEOWNERS line 5: `\\#x` escapes #, which CODEOWNERS does not support",
        ".github/CODEOWNERS line 6: `bob` is not an owner: write @login, @org/team or an "
        "email address",
    )
