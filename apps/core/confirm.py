"""The one confirmation of every action that sells or removes (see templates/core/confirm.html).

The action's first post changes nothing and answers 200 with the confirmation box: a question,
not an error. Only a post carrying `confirm=yes` (the box's button) acts. Views ask
`confirmed(request)`; `refusal(request, ...)` is the one sentence a post that carried another
answer gets (`confirm=no`, `on`, ...): why nothing happened. A first ask carries no answer and
gets no such sentence.
"""

from __future__ import annotations

from django.http import HttpRequest

FIELD, YES = "confirm", "yes"


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get(FIELD) == YES


def answered(request: HttpRequest) -> bool:
    """The post carried an answer to the confirmation (the box's button, or a forged one)."""
    return FIELD in request.POST


def refusal(request: HttpRequest, *, nothing: str) -> str:
    """ "" on a first ask; on a post whose answer is not `yes`, why `nothing` happened.

    `nothing` says what did not happen ("Nothing was sold"); the sentence it ends says why.
    """
    if not answered(request) or confirmed(request):
        return ""
    return (
        f"{nothing}: the confirmation was not answered yes. "
        "Confirm below, or keep things as they are."
    )


def counted(count: int, one: str, many: str) -> str:
    """ "1 position group", "2 position groups": a confirmation's counts read as sentences."""
    return f"{count} {one if count == 1 else many}"


def entry_name(queued) -> str:
    """A queued entry as the trader knows it: by its signal (the queue row's own id means
    nothing to them), or as a trader's own entry without one."""
    signal = f"signal #{queued.signal_id}" if queued.signal_id else "no signal"
    return f"{queued.key} ({signal})"
