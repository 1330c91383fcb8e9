"""A GitHub App's RSA key pair, generated at test time (never a key kept in the repo)."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = 424242
INSTALLATION = 1  # the installation of the octokit example payloads (and of our fixture)


@cache
def key_pair() -> tuple[str, bytes]:
    """(private key PEM text, public key PEM bytes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public
