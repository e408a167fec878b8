"""The git-ignored local env file: generated secrets for a desk that runs on this machine.

On first run the desk needs a `SECRET_KEY`, a field-encryption key and the demo passwords, and
none of them may ever be committed. When the environment does not provide them, they are
generated once into `.env` beside `manage.py` (created 0600) and read from there on every
later run, so sessions, encrypted API keys and the printed demo logins survive restarts.

Standard library only: this runs before Django is configured.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

HEADER = (
    "# TradeDesk local settings. Generated on first run; never commit this file.\n"
    "# Environment variables override what is written here. See .env.example for every setting.\n"
)


def _fernet_key() -> str:
    # A Fernet key is 32 random bytes, url-safe base64 encoded (cryptography's generate_key()).
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEY": _fernet_key,
    "DEMO_TRADER_PASSWORD": lambda: secrets.token_urlsafe(12),
    "DEMO_OPERATOR_PASSWORD": lambda: secrets.token_urlsafe(12),
}


def read_values(path: Path) -> dict[str, str]:
    """The NAME=value lines of the file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def ensure_local_env(
    path: Path, names: tuple[str, ...], environ: os._Environ[str] | dict[str, str] = os.environ
) -> None:
    """Append a generated value for each of `names` set neither by the environment nor the file."""
    present = set(read_values(path)) | set(environ)
    missing = [name for name in names if name not in present and f"{name}_FILE" not in present]
    if not missing:
        return
    lines = "".join(f"{name}={GENERATED[name]()}\n" for name in missing)
    try:
        # O_APPEND keeps concurrent first runs from clobbering each other; 0600 keeps it private.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise RuntimeError(
            f"{', '.join(missing)} not set, and {path} cannot be written to generate them "
            f"({exc.strerror}). Set them in the environment (see .env.example)."
        ) from exc
    with os.fdopen(fd, "a") as handle:
        if handle.tell() == 0:
            handle.write(HEADER)
        handle.write(lines)
