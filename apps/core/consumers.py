from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.broadcast import user_group

# Close code for "not logged in" (4000-4999 are application codes); htmx reconnects with backoff.
UNAUTHENTICATED = 4401


class DeskConsumer(AsyncWebsocketConsumer):
    """Live updates for one logged-in user: joins only that user's group and forwards fragments.

    Thin on purpose: services render the HTML and decide who receives it; the browser's htmx ws
    extension swaps each fragment into the page by element id. Messages from the browser are
    ignored: every action goes through a normal, CSRF-protected HTTP request.
    """

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def desk_fragment(self, event: dict) -> None:
        await self.send(text_data=event["html"])
