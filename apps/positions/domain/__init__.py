"""Pure helpers of the positions app (no Django, no I/O)."""
