"""The one confirmation of every action that sells or removes (see templates/core/confirm.html).

The action's first post changes nothing and answers 200 with the confirmation box; only a post
carrying `confirm=yes` (the box's button) acts. Views ask `confirmed(request)`.
"""

from __future__ import annotations

from django.http import HttpRequest

FIELD, YES = "confirm", "yes"


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(FIELD) == YES
