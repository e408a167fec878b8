from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.broadcast import PRESENCE_RENEW_SECONDS, join_live, user_group

logger = logging.getLogger(__name__)

# Close code for "not logged in" (4000-4999 are application codes); htmx reconnects with backoff.
UNAUTHENTICATED = 4401


class DeskConsumer(AsyncWebsocketConsumer):
    """Live updates for one logged-in user: joins only that user's group and forwards fragments.

    Thin on purpose: services render the HTML and decide who receives it; the browser's htmx ws
    extension swaps each fragment into the page by element id. Messages from the browser are
    ignored: every action goes through a normal, CSRF-protected HTTP request.
    """

    group: str | None = None
    _presence: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await join_live(self.channel_layer, user_id=user.pk, channel_name=self.channel_name)
        self._presence = asyncio.create_task(self._stay_present(user.pk))
        await self.accept()

    async def _stay_present(self, user_id: int) -> None:
        """Renew the presence mark (and the group membership) while the page stays open."""
        while True:
            await asyncio.sleep(PRESENCE_RENEW_SECONDS)
            try:
                await join_live(self.channel_layer, user_id=user_id, channel_name=self.channel_name)
            except Exception:  # the cache or the layer blinked: try again next time
                logger.exception("Live presence not renewed")

    async def disconnect(self, code: int) -> None:
        if self._presence is not None:
            self._presence.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._presence
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def desk_fragment(self, event: dict) -> None:
        await self.send(text_data=event["html"])


class NoSuchSocket(AsyncWebsocketConsumer):
    """Every other WebSocket path: refused at the handshake (daphne answers 403), rather than
    the router's "No route found", which daphne turns into a 500 with a traceback."""

    async def connect(self) -> None:
        await self.close()
