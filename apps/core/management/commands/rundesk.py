"""`manage.py rundesk`: the embedded desk in one process (what `make run` starts).

daphne serves HTTP and WebSockets, and an InProcessRunner runs the Celery beat schedule and
every enqueued task in threads of the same process, so the desk needs no broker and no worker.
Ctrl-C stops the server; the runner stops with it.
"""

from __future__ import annotations

import asyncio

from channels.routing import get_default_application
from daphne.server import Server
from django.core.management.base import BaseCommand, CommandError
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from apps.core.background import InProcessRunner
from apps.core.startup import banners
from tradedesk.celery import app as celery_app


class Command(BaseCommand):
    help = "Serve the desk with the periodic loops running in this process (embedded mode)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        runner: InProcessRunner | None = None
        # Read before serving: the ready callback runs on the event loop, where the ORM may not.
        demo = "\n".join(banners(host, port))

        def ready() -> None:
            nonlocal runner
            # daphne has made the reactor's asyncio loop current; the runner lives on it.
            runner = InProcessRunner(celery_app, asyncio.get_event_loop())
            runner.start()
            self.stdout.write(f"TradeDesk is serving on http://{host}:{port}/ (Ctrl-C to stop)")
            if demo:
                self.stdout.write(demo)
            self.stdout.flush()  # shown at once even when the output is piped into a log

        def stop_runner() -> Deferred | None:
            # Twisted waits for the returned Deferred: running tasks finish before we exit.
            return Deferred.fromFuture(asyncio.ensure_future(runner.shutdown())) if runner else None

        reactor.addSystemEventTrigger("before", "shutdown", stop_runner)
        server = Server(
            # ASGI_APPLICATION, as Channels' runserver reads it: the project's routing sits above
            # every app, and core (the ground floor) imports none of them.
            application=get_default_application(),
            endpoints=[f"tcp:port={port}:interface={host}"],
            ready_callable=ready,
        )
        server.run()
        if not server.listening_addresses:
            raise CommandError(f"Could not listen on {host}:{port} (is another desk running?).")
        self.stdout.write("TradeDesk stopped.")
