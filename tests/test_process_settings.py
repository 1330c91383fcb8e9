"""The policy settings of issue 18 are checked at start: one clear line per problem."""

import os
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_config

SECRETS = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_SIGNING_SECRET": "s",
           "CHANGEBOT_CHANNELS__CHANGES": "C0CHANGES", "CHANGEBOT_CHANNELS__ENGINEERING": "C0ENG",
           "CHANGEBOT_GROUPS__SECURITY": "S0SEC", "CHANGEBOT_GROUPS__TECH_LEADS": "S0TL"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in list(os.environ):
        if name.upper().startswith(("CHANGEBOT_", "SLACK_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def problems(env) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config("serve", env_file=None)
    return caught.value.problems


def test_the_new_settings_load_from_the_environment(env):
    env.setenv("CHANGEBOT_GROUPS__INFRASTRUCTURE", "S0INFRA")
    env.setenv("CHANGEBOT_GITHUB__REQUIRED_CHECKS", '["sast", "test-*"]')
    env.setenv("CHANGEBOT_INFRASTRUCTURE__CATEGORIES", '["high_risk"]')
    policy = load_config("serve", env_file=None).policy
    assert policy.groups.infrastructure == "S0INFRA"
    assert policy.github.required_checks == ["sast", "test-*"]
    assert policy.infrastructure.categories == ["high_risk"]


def test_a_group_that_is_not_a_group_id_is_named(env):
    env.setenv("CHANGEBOT_GROUPS__REVIEWERS", "@reviewers")
    assert problems(env) == [
        "groups.reviewers (CHANGEBOT_GROUPS__REVIEWERS): '@reviewers' is not a user group "
        "id: copy the id (S...) from the group's page in Slack, e.g. S0123456789"]


def test_a_malformed_glob_is_named(env):
    env.setenv("CHANGEBOT_GITHUB__REQUIRED_CHECKS", '["sast", "test-[unit"]')
    env.setenv("CHANGEBOT_INFRASTRUCTURE__PATHS", '["/terraform/**", ""]')
    found = problems(env)
    assert ("github.required_checks (CHANGEBOT_GITHUB__REQUIRED_CHECKS): 'test-[unit' is a "
            "malformed glob: unbalanced []") in found
    assert ("infrastructure.paths (CHANGEBOT_INFRASTRUCTURE__PATHS): '/terraform/**' starts "
            "with /: paths are relative to the repository root; an empty pattern matches "
            "nothing: remove it") in found


def test_an_unknown_category_is_named(env):
    env.setenv("CHANGEBOT_INFRASTRUCTURE__CATEGORIES", '["infra"]')
    assert problems(env) == [
        "infrastructure.categories (CHANGEBOT_INFRASTRUCTURE__CATEGORIES): unknown category "
        "'infra': the categories are standard, normal, high_risk, emergency"]


def test_a_template_without_a_name_is_named(env, tmp_path):
    policy = tmp_path / "changebot.toml"
    policy.write_text('[[proposal.templates]]\ncovers = "lock files"\n'
                      'only_paths = ["**/poetry.lock"]\n', encoding="utf-8")
    assert problems(env) == [
        "proposal.templates.0.name (CHANGEBOT_PROPOSAL__TEMPLATES): every template needs a "
        'name, e.g. name = "Dependency update"']


def test_templates_load_from_the_policy_file(env, tmp_path):
    (tmp_path / "changebot.toml").write_text(
        '[[proposal.templates]]\nname = "Dependency update"\nonly_paths = ["**/*.lock"]\n'
        '[proposal.templates.fields]\nrollback_plan = "Revert it."\n', encoding="utf-8")
    proposal = load_config("serve", env_file=None).policy.proposal
    assert proposal.template("dependency-update").fields.rollback_plan == "Revert it."


def test_code_owners_need_github(env):
    env.setenv("CHANGEBOT_GITHUB__USE_CODEOWNERS", "true")
    assert problems(env) == [
        "github.use_codeowners (CHANGEBOT_GITHUB__USE_CODEOWNERS): true needs GitHub to read "
        "CODEOWNERS: set GITHUB_TOKEN (or GITHUB_APP_ID and its key), or set it to false"]
    env.setenv("GITHUB_TOKEN", "ghp-x")
    assert load_config("serve", env_file=None).policy.github.use_codeowners


def test_code_owners_must_be_true_or_false(env):
    env.setenv("GITHUB_TOKEN", "ghp-x")
    env.setenv("CHANGEBOT_GITHUB__USE_CODEOWNERS", "sometimes")
    [problem] = problems(env)
    assert problem.startswith("github.use_codeowners")


def test_a_template_label_that_is_empty_is_named(env, tmp_path):
    policy = tmp_path / "changebot.toml"
    policy.write_text('[[proposal.templates]]\nname = "Config tweak"\nlabels = ["config", " "]\n',
                      encoding="utf-8")
    [problem] = problems(env)
    assert "proposal.templates" in problem and "an empty label matches no pull request" in problem
    policy.write_text('[[proposal.templates]]\nname = "Config tweak"\nlabels = ["config"]\n',
                      encoding="utf-8")
    [template] = load_config("serve", env_file=None).policy.proposal.templates
    assert template.labels == ["config"]
