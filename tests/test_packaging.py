"""What ships beside the code: the Slack manifest, the Procfile, the example policy file,
and how start-up reports a wrong configuration. Fast, offline, no Slack."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.policy import Policy
from bot.runtime.durations import format_duration, parse_duration
from bot.settings import ConfigError, load_config, policy_env_name

ROOT = Path(__file__).resolve().parents[1]

SCHEMA_DIR = ROOT / "tests" / "fixtures" / "slack-manifest-schema"
SCHEMA_V1 = SCHEMA_DIR / "schemas" / "manifest.schema.1.0.0.json"
VALID_V1_EXAMPLE = SCHEMA_DIR / "tests" / "manifests" / "v1" / "manifest.valid.json"

EXAMPLE = ROOT / "changebot.example.toml"
REQUEST_URL = "https://changebot.example.com/slack/events"
BOT_SCOPES = {
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "files:write",
    # bot.notify.find_posted looks for its own message before re-sending after a crash
    "channels:history",
    "groups:history",
    "im:history",
}
REQUIRED_POLICY = {
    ("channels", "changes"),
    ("channels", "engineering"),
    ("groups", "security"),
    ("groups", "tech_leads"),
}
SECRETS = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret"}
REQUIRED_ENV = {
    "CHANGEBOT_CHANNELS__CHANGES": "C0000000001",
    "CHANGEBOT_CHANNELS__ENGINEERING": "C0000000002",
    "CHANGEBOT_GROUPS__SECURITY": "S0000000001",
    "CHANGEBOT_GROUPS__TECH_LEADS": "S0000000002",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No developer variable, `.env` or `changebot.toml` may change what these tests see.

    pydantic-settings matches names case-insensitively, so clear every spelling."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("CHANGEBOT_", "SLACK_", "GITHUB_")) or upper == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def problems_of(mode: str = "serve") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(mode, env_file=None)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


# --- manifest.json ---------------------------------------------------------------------

# Keywords that only annotate a schema (the v1 schema writes `regex` where it means a
# pattern that Slack itself checks; draft-07 ignores it, and so do we).
_ANNOTATIONS = {
    "$schema",
    "definitions",
    "title",
    "description",
    "default",
    "_note",
    "format",
    "regex",
    "examples",
}
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _mini_validate(value: Any, schema: dict, root: dict, where: str = "$") -> list[str]:
    """The draft-07 subset the Slack manifest schema uses; fails on any other keyword,
    so a schema update cannot make this check pass by being ignored."""
    errors: list[str] = []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        errors += _mini_validate(value, target, root, where)
    for key, rule in schema.items():
        if key in _ANNOTATIONS or key == "$ref":
            continue
        if key == "type":
            if not _TYPES[rule](value):
                return errors + [f"{where}: not of type {rule}"]
        elif key == "enum":
            if value not in rule:
                errors.append(f"{where}: {value!r} not one of {rule}")
        elif key == "anyOf":
            if all(_mini_validate(value, option, root, where) for option in rule):
                errors.append(f"{where}: matches none of anyOf")
        elif key in ("minLength", "maxLength", "pattern"):
            if not isinstance(value, str):
                continue
            if key == "minLength" and len(value) < rule:
                errors.append(f"{where}: shorter than {rule}")
            if key == "maxLength" and len(value) > rule:
                errors.append(f"{where}: longer than {rule}")
            if key == "pattern" and not re.search(rule, value):
                errors.append(f"{where}: {value!r} does not match {rule}")
        elif key in ("items", "minItems", "maxItems", "uniqueItems"):
            if not isinstance(value, list):
                continue
            if key == "items":
                for index, item in enumerate(value):
                    errors += _mini_validate(item, rule, root, f"{where}[{index}]")
            if key == "minItems" and len(value) < rule:
                errors.append(f"{where}: fewer than {rule} items")
            if key == "maxItems" and len(value) > rule:
                errors.append(f"{where}: more than {rule} items")
            if key == "uniqueItems" and rule:
                dumped = [json.dumps(item, sort_keys=True) for item in value]
                if len(set(dumped)) != len(dumped):
                    errors.append(f"{where}: items are not unique")
        elif key in (
            "properties",
            "patternProperties",
            "additionalProperties",
            "required",
            "minProperties",
            "maxProperties",
        ):
            if not isinstance(value, dict):
                continue
            if key == "required":
                errors += [f"{where}: {name!r} is required" for name in rule if name not in value]
            elif key == "minProperties" and len(value) < rule:
                errors.append(f"{where}: fewer than {rule} properties")
            elif key == "maxProperties" and len(value) > rule:
                errors.append(f"{where}: more than {rule} properties")
            elif key == "properties":
                for name, sub in rule.items():
                    if name in value:
                        errors += _mini_validate(value[name], sub, root, f"{where}.{name}")
            elif key == "patternProperties":
                for pattern, sub in rule.items():
                    for name in value:
                        if re.search(pattern, name):
                            errors += _mini_validate(value[name], sub, root, f"{where}.{name}")
            elif key == "additionalProperties":
                extra = [
                    name
                    for name in value
                    if name not in schema.get("properties", {})
                    and not any(re.search(p, name) for p in schema.get("patternProperties", {}))
                ]
                for name in extra:
                    if rule is False:
                        errors.append(f"{where}: unexpected property {name!r}")
                    elif isinstance(rule, dict):
                        errors += _mini_validate(value[name], rule, root, f"{where}.{name}")
        else:
            raise AssertionError(f"schema keyword {key!r} at {where} is not supported here")
    return errors


def schema_errors(instance: Any, schema: dict) -> list[str]:
    """jsonschema when it is installed, else the subset above."""
    try:
        import jsonschema
    except ImportError:
        return _mini_validate(instance, schema, schema)
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_v1() -> dict:
    return json.loads(SCHEMA_V1.read_text(encoding="utf-8"))


def test_manifest_validates_against_the_v1_schema(manifest: dict, schema_v1: dict) -> None:
    assert schema_errors(manifest, schema_v1) == []


def test_the_schema_check_is_not_vacuous(schema_v1: dict) -> None:
    example = json.loads(VALID_V1_EXAMPLE.read_text(encoding="utf-8"))
    assert schema_errors(example, schema_v1) == []

    broken = json.loads(json.dumps(example))
    broken["display_information"]["name"] = "x" * 36
    broken["features"]["slash_commands"][0]["command"] = "change"
    broken["features"]["bot_user"]["always_online"] = "yes"
    broken["oauth_config"]["scopes"]["bot"].append(7)
    broken["settings"]["interactivity"] = {"request_url": "ftp://nowhere"}
    broken["settings"]["unknown"] = True
    assert len(schema_errors(broken, schema_v1)) >= 7


def test_manifest_describes_the_product(manifest: dict) -> None:
    assert manifest["display_information"]["name"] == "Changebot"
    features = manifest["features"]
    assert features["bot_user"] == {"display_name": "changebot", "always_online": True}
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["slash_commands"] == [
        {
            "command": "/change",
            "url": REQUEST_URL,
            "description": "Propose, review and ship production changes",
            "usage_hint": "new | emergency | list | show CHG-n | help",
            "should_escape": False,
        }
    ]
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": REQUEST_URL}
    assert settings["event_subscriptions"] == {
        "request_url": REQUEST_URL,
        "bot_events": ["app_home_opened"],
    }
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_manifest_asks_for_exactly_the_scopes_it_needs(manifest: dict) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes: the bot acts only as itself"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == BOT_SCOPES


# --- Procfile --------------------------------------------------------------------------


def test_procfile_runs_http_mode() -> None:
    assert (ROOT / "Procfile").read_bytes() == b"web: changebot serve\n"


# --- changebot.example.toml ------------------------------------------------------------


def policy_fields() -> list[tuple[str, str]]:
    return [
        (section, key)
        for section, field in Policy.model_fields.items()
        for key in field.annotation.model_fields
    ]


def section_text(section: str) -> str:
    """The lines of `[section]` up to the next table header."""
    text = EXAMPLE.read_text(encoding="utf-8")
    match = re.search(rf"^\[{re.escape(section)}\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert match, f"changebot.example.toml has no [{section}] section"
    return match.group(1)


def test_example_policy_loads_and_gives_the_defaults(monkeypatch, clean_env) -> None:
    set_env(monkeypatch, {**SECRETS, "CHANGEBOT_POLICY": str(EXAMPLE)})
    policy = load_config("serve", env_file=None).policy

    defaults = Policy()
    placeholders = {}
    for section, key in policy_fields():
        value = getattr(getattr(policy, section), key)
        if (section, key) in REQUIRED_POLICY:
            placeholders[f"{section}.{key}"] = value
        else:
            assert value == getattr(getattr(defaults, section), key), f"{section}.{key}"
    assert all(re.fullmatch(r"[CS]0\d{9}", v) for v in placeholders.values()), placeholders
    assert placeholders["channels.changes"].startswith("C")
    assert placeholders["groups.security"].startswith("S")


def test_example_policy_is_read_from_the_working_directory(monkeypatch, clean_env) -> None:
    (clean_env / "changebot.toml").write_text(EXAMPLE.read_text(encoding="utf-8"))
    set_env(monkeypatch, SECRETS)
    assert load_config("serve", env_file=None).policy.channels.changes == "C0123456789"


@pytest.mark.parametrize(("section", "key"), policy_fields())
def test_example_policy_documents_every_setting(section: str, key: str) -> None:
    text = section_text(section)
    assert re.search(rf"^(# )?{key} = ", text, re.M), f"{section}.{key} is not in the file"
    assert re.search(rf"\b{policy_env_name(section, key)}\b", text), "env override not named"
    default = Policy.model_fields[section].annotation.model_fields[key].default
    if (section, key) in REQUIRED_POLICY:
        assert re.search(rf"REQUIRED.*\n(#.*\n)*{key} = ", text), f"{key}: say it is required"
    elif default is None:
        assert re.search(rf"^# {key} = ", text, re.M), f"{key}: show it, commented out"


def test_example_policy_lists_no_unknown_setting() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(Policy.model_fields)
    for section, values in data.items():
        assert set(values) <= set(Policy.model_fields[section].annotation.model_fields)


def test_example_policy_writes_durations_as_people_do() -> None:
    windows = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["windows"]
    defaults = Policy().windows
    for key, value in windows.items():
        assert re.fullmatch(r"\d+[smhd]", value), key
        assert parse_duration(value) == getattr(defaults, key), key


# --- start-up errors -------------------------------------------------------------------


def test_nothing_set_names_every_required_setting() -> None:
    problems = problems_of("serve")
    names = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", *REQUIRED_ENV]
    for name in names:
        assert sum(name in p for p in problems) == 1, (name, problems)
    assert len(problems) == len(names)
    assert not any("SLACK_APP_TOKEN" in p for p in problems)


def test_all_set_loads(monkeypatch) -> None:
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV})
    config = load_config("serve", env_file=None)
    assert config.policy.channels.changes == "C0000000001"
    assert config.policy.windows == Policy().windows


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("CHANGEBOT_WINDOWS__MONITORING", "soon", "30m"),
        ("CHANGEBOT_WINDOWS__RETROSPECTIVE", "1y", "24h"),
        ("CHANGEBOT_BUSINESS_HOURS__DAYS", "mon-fry", "mon-fri"),
        ("CHANGEBOT_BUSINESS_HOURS__TIMEZONE", "Mars/Olympus", "Europe/Paris"),
    ],
)
def test_an_invalid_value_gives_one_clear_message(monkeypatch, name, value, hint) -> None:
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV, name: value})
    problems = problems_of("serve")
    assert len(problems) == 1, problems
    assert name in problems[0] and repr(value) in problems[0] and hint in problems[0]
    assert "Traceback" not in problems[0] and "pydantic" not in problems[0]


def test_an_invalid_value_in_the_file_names_its_env_var(monkeypatch, clean_env) -> None:
    (clean_env / "policy.toml").write_text('[business_hours]\ntimezone = "Mars/Olympus"\n')
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV, "CHANGEBOT_POLICY": "policy.toml"})
    problems = problems_of("serve")
    assert len(problems) == 1, problems
    assert "business_hours.timezone" in problems[0]
    assert "CHANGEBOT_BUSINESS_HOURS__TIMEZONE" in problems[0]


def test_socket_mode_needs_the_app_token(monkeypatch) -> None:
    set_env(monkeypatch, {"SLACK_BOT_TOKEN": "xoxb-test", **REQUIRED_ENV})
    problems = problems_of("socket")
    assert len(problems) == 1 and problems[0].startswith("SLACK_APP_TOKEN"), problems

    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    assert load_config("socket", env_file=None).settings.slack_app_token == "xapp-test"


def test_a_missing_policy_file_is_reported(monkeypatch) -> None:
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV, "CHANGEBOT_POLICY": "no/such.toml"})
    problems = problems_of("serve")
    assert len(problems) == 1, problems
    assert problems[0].startswith("CHANGEBOT_POLICY") and "no/such.toml" in problems[0]


def test_a_misspelt_key_in_a_section_is_reported(monkeypatch, clean_env) -> None:
    (clean_env / "changebot.toml").write_text('[windows]\nmonitorng = "5m"\n')
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV})
    problems = problems_of("serve")
    assert len(problems) == 1, problems
    assert "windows.monitorng" in problems[0] and "unknown setting" in problems[0]


def test_environment_beats_file_beats_default(monkeypatch, clean_env) -> None:
    (clean_env / "changebot.toml").write_text(
        '[windows]\nmonitoring = "5m"\nretrospective = "12h"\n'
    )
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV, "CHANGEBOT_WINDOWS__MONITORING": "45m"})
    windows = load_config("serve", env_file=None).policy.windows
    assert format_duration(windows.monitoring) == "45m"
    assert format_duration(windows.retrospective) == "12h"
    assert windows.monitoring_high_risk == Policy().windows.monitoring_high_risk


def test_a_misspelt_section_is_reported(monkeypatch, clean_env) -> None:
    (clean_env / "changebot.toml").write_text('[window]\nmonitoring = "5m"\n')
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV})
    problems = problems_of("serve")
    assert len(problems) == 1 and "window" in problems[0], problems


def test_a_list_that_is_not_json_names_its_env_var(monkeypatch) -> None:
    set_env(monkeypatch, {**SECRETS, **REQUIRED_ENV, "CHANGEBOT_SECURITY__KEYWORDS": "auth,jwt"})
    problems = problems_of("serve")
    assert len(problems) == 1 and "CHANGEBOT_SECURITY__KEYWORDS" in problems[0], problems
