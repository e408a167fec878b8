"""The paper exchange: simulated prices, real market rules, fills, fees and injected faults.

`catalog` and `walk` (and `rules`, `fills`, `candles`) are pure; `services` owns the database
side (balances, orders, prices, matching); `apps.exchanges.adapters.paper.PaperExchange` is the
adapter the rest of the desk talks to.
"""
