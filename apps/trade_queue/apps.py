from django.apps import AppConfig


class TradeQueueConfig(AppConfig):
    name = "apps.trade_queue"
    verbose_name = "Queue"

    def ready(self) -> None:
        from apps.core.dashboard import desk_figures
        from apps.positions.services import hooks
        from apps.trade_queue import selectors
        from apps.trade_queue.services import queueing
        from apps.trade_queue.services.dashboard import desk_figures as queue_figures

        # The engine's waiting room: an entry that finds the pool full waits here, and a
        # freed slot promotes the first in line.
        hooks.pool_rules.connect(selectors.pool_rules)
        hooks.pool_changed.connect(queueing.on_pool_changed)
        hooks.entries_waiting.connect(queueing.entries_waiting)
        hooks.queue_entry.connect(queueing.queue_entry)
        hooks.entry_promoted.connect(queueing.record_promotion)
        hooks.exit_cancels_queued.connect(queueing.cancel_for_exit)
        hooks.queued_of_signal.connect(queueing.queued_of_signal)
        # Entries waiting for a slot, in the Desk's header.
        desk_figures.connect(queue_figures)
