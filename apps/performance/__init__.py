"""Performance: equity snapshots per account and the figures traders compare (freqtrade's
`/profit` and more), read from the ledger of closed positions."""
