"""Secrets at rest: tokens kept as hashes, GitHub tokens encrypted, nothing in clear."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

TOKEN_BYTES = 32
PREFIX_LENGTH = 8


def new_token(kind: str) -> str:
    """A random token that says what it is for: `jxa_...` (API) or `jxr_...` (runner)."""
    return f"{kind}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def token_hash(token: str) -> str:
    """SHA-256 suffices: the tokens are long and random, so there is nothing to guess."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


class Vault:
    """Encrypts GitHub tokens with Fernet. Several keys rotate: the first encrypts."""

    HOW_TO_MAKE_A_KEY = (
        "make one with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`"
    )

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError(
                "no encryption key: set JobServerApp.crypt_keys (or JUPYTER_EXT_CRYPT_KEY) to "
                f"one or more Fernet keys; {self.HOW_TO_MAKE_A_KEY}"
            )
        self._keys = list(keys)
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{exc}") from None

    def key_for(self, purpose: str) -> bytes:
        """A key for `purpose` (e.g. signing forms), derived from the first key: never the
        encryption key itself."""
        first = self._keys[0].encode() if isinstance(self._keys[0], str) else self._keys[0]
        return hmac.new(first, purpose.encode(), hashlib.sha256).digest()

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, blob: bytes) -> str | None:
        """The secret, or None when no configured key opens it (keys were replaced)."""
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken:
            return None
