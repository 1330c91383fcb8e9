"""Slack's urlencoded bodies are read as the standard library reads them (bot.slack.payloads
decodes them with yarl's compiled decoder, which is faster)."""

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.slack.payloads import form_fields

BODIES = [
    urlencode({"payload": json.dumps({"type": "block_actions", "text": "50% off & more+"})}),
    urlencode({"command": "/change", "text": "show CHG-1 ü 100% a=b; c"}),
    "a=1;b=2", "a=1&&b=2", "=x&y", "a=%", "a=%2", "a+b=c+d", "a=%23x", "text=%FF%FE",
    "a=1&a=2", "",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_form_reads_as_parse_qsl_reads_it(body):
    assert form_fields(body) == dict(parse_qsl(body, keep_blank_values=True))
