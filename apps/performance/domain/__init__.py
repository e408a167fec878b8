"""Pure performance arithmetic: figures of a ledger of closed positions and an equity curve."""
