"""Listening to the live pushes a trader's browser would receive."""

from __future__ import annotations

import asyncio
import contextlib

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.core.broadcast import join_live


class Listener:
    """A channel joined to one user's live group, as a signed-in browser's websocket is."""

    def __init__(self, user_id: int) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(join_live)(self.layer, user_id=user_id, channel_name=self.channel)

    def pushed(self, marker: str = "") -> list[str]:
        """The HTML pushed since the last call (each part containing `marker`), oldest
        first; it waits until nothing more arrives for half a second."""

        async def drain() -> list[str]:
            received = []
            with contextlib.suppress(TimeoutError):
                while True:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), 0.5)
                    received.append(message["html"])
            return received

        return [html for html in async_to_sync(drain)() if marker in html]
