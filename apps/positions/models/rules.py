"""Rules as models store them (`Rule.to_dict()` by kind), read back through the catalog."""

from __future__ import annotations

import functools
import json

from apps.strategies.domain.catalog import Rule, RuleKind, Side, parse_rule


def parse_stored(side: str, rules: dict) -> dict[RuleKind, Rule | None]:
    """Every rule kind, None where the stored rules have none."""
    return _parse(side, json.dumps(rules, sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _parse(side: str, rules_json: str) -> dict[RuleKind, Rule | None]:
    # The rules loop reads every running ticket's and position's rules each tick; most share a
    # few shapes. Rules are frozen dataclasses, so a cached result can be shared.
    rules = json.loads(rules_json)
    return {
        kind: parse_rule(kind, Side(side), rules[kind.value]) if kind.value in rules else None
        for kind in RuleKind
    }
