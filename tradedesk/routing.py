from django.urls import path, re_path

from apps.core.consumers import DeskConsumer, NoSuchSocket

websocket_urlpatterns = [
    path("ws/desk/", DeskConsumer.as_asgi()),
    re_path(r"", NoSuchSocket.as_asgi()),  # last: any other path is refused cleanly
]
