"""The risk engine and account guards.

Entry points: `risk_loop` (beat), `preview` / `run` (the Risk page), the controls (settings,
Skip once, Block, `reset_timer` for replacement signals), `entry_block` (the signal path asks
it before an entry or pyramid add), the kill switch and `resume`, and the circuit breaker's
`record_exchange_error` / `record_exchange_success`.
"""

from apps.risk.services.breaker import record_exchange_error, record_exchange_success
from apps.risk.services.controls import (
    ControlError,
    reset_settings,
    reset_timer,
    save_settings,
    set_blocked,
    set_skip_once,
)
from apps.risk.services.engine import Preview, preview, run
from apps.risk.services.guards import check_guards, entry_block, resume
from apps.risk.services.kill_switch import engage
from apps.risk.services.loops import risk_loop, risk_tick

__all__ = [
    "ControlError",
    "Preview",
    "check_guards",
    "engage",
    "entry_block",
    "preview",
    "record_exchange_error",
    "record_exchange_success",
    "reset_settings",
    "reset_timer",
    "resume",
    "risk_loop",
    "risk_tick",
    "run",
    "save_settings",
    "set_blocked",
    "set_skip_once",
]
