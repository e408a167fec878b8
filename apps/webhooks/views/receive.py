"""The webhook TradingView posts to: no login, no CSRF (the token in the URL authenticates)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.webhooks.services import client_ip, receive_signal


@csrf_exempt
@require_POST
def receive(request: HttpRequest, token: str) -> JsonResponse:
    answer = receive_signal(
        token=token,
        content_length=_content_length(request.META.get("CONTENT_LENGTH")),
        read_body=request.read,
        content_type=request.META.get("CONTENT_TYPE", ""),
        source_ip=client_ip(request.META),
        now=timezone.now(),
    )
    return JsonResponse(
        answer.payload(), status=answer.http_status, json_dumps_params={"ensure_ascii": False}
    )


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None  # the body's real length is checked as it is read
