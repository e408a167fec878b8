"""`manage.py seed_demo`: the demo trader (with a paper account and a TradingView webhook
route on it) and operator logins.

Passwords are generated once into the git-ignored `.env` (never a fixed, guessable one) and
printed on every run. Existing users are left alone, so a changed password stays changed.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.accounts.services import ensure_user
from apps.exchanges.models import PAPER
from apps.exchanges.services import create_account
from apps.webhooks.services import ensure_demo_route
from tradedesk.local_env import ensure_local_env, read_values

DEMO_LOGINS = [
    # (username, env name of the password, is operator)
    ("demo", "DEMO_TRADER_PASSWORD", False),
    ("operator", "DEMO_OPERATOR_PASSWORD", True),
]


class Command(BaseCommand):
    help = "Create the demo trader and operator logins (if missing) and print their credentials."

    def handle(self, *args, **options) -> None:
        ensure_local_env(settings.LOCAL_ENV_FILE, tuple(name for _, name, _ in DEMO_LOGINS))
        values = read_values(settings.LOCAL_ENV_FILE) | dict(os.environ)
        lines = []
        for username, password_name, operator in DEMO_LOGINS:
            password = values[password_name]
            user = ensure_user(username=username, password=password, is_staff=operator)
            role = "operator (admin at /admin/)" if operator else "trader"
            note = "" if user.check_password(password) else "  (password since changed: use yours)"
            lines.append(f"  {role:<28} {username} / {password}{note}")
            if not operator and not user.exchange_accounts.exists():
                # The demo trader can paper-trade from the first minute.
                create_account(owner=user, label="Paper", kind=PAPER)
            paper = user.exchange_accounts.filter(kind=PAPER).order_by("pk").first()
            if not operator and paper is not None:
                # ... and try a TradingView signal with curl (`rundesk` prints the command).
                ensure_demo_route(user=user, account=paper)
        self.stdout.write("Demo logins:\n" + "\n".join(lines))
