"""Slack's request signature, checked on the raw bytes before anything parses the body.

https://docs.slack.dev/authentication/verifying-requests-from-slack/ : `v0=` + HMAC-SHA256 of
`v0:<timestamp>:<body>` with the signing secret, the timestamp within five minutes of our
clock. slack_sdk's `SignatureVerifier` computes it, but only for a body that is valid UTF-8
and a timestamp that is an integer (it raises otherwise): both are checked here first, so
that anything unsigned, forged, stale or malformed is a plain "no".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

MAX_AGE_SECONDS = 5 * 60


def signed_by_slack(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    """True when the request carries Slack's valid, fresh signature of exactly `body`."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not secret.strip() or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Not a body Slack sends, but its signature still decides 401 (forged) or 400.
        digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                          hashlib.sha256).hexdigest()
        expected = f"v0={digest}"
    else:
        expected = SignatureVerifier(secret).generate_signature(timestamp=timestamp,
                                                                body=text) or ""
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def body_text(body: bytes, charset: str | None) -> str:
    """The body as text: Slack sends UTF-8 (ASCII for forms); anything else is malformed."""
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii",
                                                             "ascii"):
        raise ValueError(f"unsupported charset {charset[:40]!r}")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
