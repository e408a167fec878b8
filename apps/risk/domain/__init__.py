"""The risk engine's maths, pure: which losing group qualifies, which winners offset it and by
how much, and when an account guard is breached. Decimal in, decisions out; `now` and prices
are arguments. No Django, no I/O."""
