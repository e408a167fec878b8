"""Encryption at rest for secrets the desk must read back (exchange API keys, later webhook and
Discord secrets): Fernet with the keys in FIELD_ENCRYPTION_KEY (the first encrypts, all decrypt)."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(RuntimeError):
    """A stored secret cannot be decrypted with any configured key (the key was lost or changed)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY no longer holds the key "
            "that encrypted it."
        ) from exc
