"""The risk engine and account guards.

Entry points: `risk_loop` (beat), `preview` / `run` (the Risk page), the controls (settings,
Skip once, Block, `reset_timer` for replacement signals), `entry_block` (the signal path and
the tickets ask it before an entry or pyramid add), the kill switch, `resume_plan` (what
Resume would do) and `resume`, and the circuit breaker's `record_exchange_error` /
`record_exchange_success`.
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
from apps.risk.services.guards import check_guards, entry_block
from apps.risk.services.kill_switch import engage
from apps.risk.services.loops import risk_loop, risk_tick
from apps.risk.services.resume import ResumePlan, resume, resume_plan

__all__ = [
    "ControlError",
    "Preview",
    "ResumePlan",
    "check_guards",
    "engage",
    "entry_block",
    "preview",
    "record_exchange_error",
    "record_exchange_success",
    "reset_settings",
    "reset_timer",
    "resume",
    "resume_plan",
    "risk_loop",
    "risk_tick",
    "run",
    "save_settings",
    "set_blocked",
    "set_skip_once",
]
