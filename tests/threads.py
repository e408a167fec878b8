"""Real concurrency for tests: calls released at the same moment, each on its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_together(calls: list[Callable[[], object]], *, timeout: float = 120) -> list[object]:
    """Run each call in its own thread (its own database connection), all released at once by
    a barrier; each result, or the exception it raised, in the order of `calls`."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as exc:  # the test looks at what each thread got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
