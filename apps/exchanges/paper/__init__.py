"""The paper exchange: simulated prices, real market rules, fills, fees, stop orders and faults.

`catalog` and `walk` (and `rules`, `fills`, `candles`) are pure; `services` owns the database
side (balances, orders, prices, matching), built on `books` (balance rows and holds), `orders`
(placement, cancellation) and `matching` (fills and stop triggers on every price update);
`apps.exchanges.adapters.paper.PaperExchange` is the adapter the rest of the desk talks to.
"""
