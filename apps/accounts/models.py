from __future__ import annotations

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A desk login. Traders are plain users; operators are staff (`is_staff`) and use the admin.

    Every trading object belongs to one user; `apps.core.scoping` keeps each user to their own.
    """

    @property
    def role(self) -> str:
        return "operator" if self.is_staff else "trader"
