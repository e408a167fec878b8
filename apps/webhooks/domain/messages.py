"""Ready-to-paste TradingView alert messages for a route's page. Pure.

Every placeholder sits inside quotes, so the message stays valid JSON after TradingView fills it
in (and arrives as application/json). A route's secret is never shown again after it is saved,
so its templates carry a placeholder the trader replaces with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SECRET_PLACEHOLDER = "PASTE-YOUR-ROUTE-SECRET"  # noqa: S105 (shown in place of the secret)


@dataclass(frozen=True)
class MessageTemplate:
    title: str
    use: str  # when to use it
    body: str


def _json(fields: dict[str, str], secret: bool) -> str:
    if secret:
        fields = {"secret": SECRET_PLACEHOLDER, **fields}
    return json.dumps(fields, indent=2)


def message_templates(*, has_secret: bool) -> list[MessageTemplate]:
    common = {
        "symbol": "{{exchange}}:{{ticker}}",
        "timeframe": "{{interval}}",
        "price": "{{close}}",
        "timenow": "{{timenow}}",
    }
    templates = [
        MessageTemplate(
            "TradeDesk JSON: entry",
            "An indicator alert that should open a position (or add to the open one).",
            _json({"action": "entry", **common}, has_secret),
        ),
        MessageTemplate(
            "TradeDesk JSON: exit",
            "An indicator alert that should close the position.",
            _json({"action": "exit", **common}, has_secret),
        ),
        MessageTemplate(
            "TradingView strategy (one message for every order fill)",
            "A strategy alert: entry, pyramid add and exit are told apart by the position "
            "before and after each fill. Delete the contracts line to size by this route's "
            "strategy instead of the Pine strategy's quantity.",
            _json(
                {
                    "symbol": "{{exchange}}:{{ticker}}",
                    "timeframe": "{{interval}}",
                    "action": "{{strategy.order.action}}",
                    "contracts": "{{strategy.order.contracts}}",
                    "price": "{{strategy.order.price}}",
                    "market_position": "{{strategy.market_position}}",
                    "market_position_size": "{{strategy.market_position_size}}",
                    "prev_market_position": "{{strategy.prev_market_position}}",
                    "prev_market_position_size": "{{strategy.prev_market_position_size}}",
                    "id": "{{exchange}}:{{ticker}}|{{interval}}|{{strategy.order.id}}|{{time}}",
                    "timenow": "{{timenow}}",
                },
                has_secret,
            ),
        ),
    ]
    if not has_secret:  # plain text cannot carry a secret
        templates.append(
            MessageTemplate(
                "Plain text",
                "Any alert; the route's strategy sizes the order. Use close instead of buy to "
                "exit.",
                "buy {{exchange}}:{{ticker}} {{interval}} | close {{close}} | fired {{timenow}}",
            )
        )
    return templates
