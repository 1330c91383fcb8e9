"""GitHub's webhook signature (`X-Hub-Signature-256`), checked before anything reads the body."""

from __future__ import annotations

import hashlib
import hmac


def verify_webhook_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Check GitHub's `X-Hub-Signature-256: sha256=<hex>` in constant time."""
    if not secret or not header:
        return False
    scheme, sep, given = header.strip().partition("=")
    if not sep or scheme.lower() != "sha256" or len(given) != 64:
        return False
    try:
        given_bytes = bytes.fromhex(given)
    except ValueError:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given_bytes)
