"""`{{ revision|rule_labels:trade.side }}`, `{{ group.exit_rules|stored_rule_labels:group.side }}`:
rules as the trader reads them."""

from __future__ import annotations

from django import template

from apps.strategies.domain.catalog import InvalidRule, RuleKind, Side, parse_rule

register = template.Library()


@register.filter
def rule_labels(revision, side: str = Side.LONG) -> list[tuple[str, str]]:
    """[(rule kind label, rule label)] in ticket order, for the rules the revision has.

    Reads only the revision's own JSON (no query): the rules loop pushes rows of trades loaded
    with their revisions, and this runs for every row.
    """
    if revision is None:
        return []
    return stored_rule_labels(revision.rules, side)


@register.filter
def stored_rule_labels(rules: dict, side: str = Side.LONG) -> list[tuple[str, str]]:
    """The same for stored rules (a position's exit rules: `group.exit_rules`)."""
    labels = []
    for kind in RuleKind:
        stored = rules.get(kind.value)
        if not stored:
            continue
        try:
            rule = parse_rule(kind, Side(side), stored)
        except InvalidRule:
            # The catalog changed under a stored rule: say so rather than break the desk.
            labels.append((kind.label, "no longer valid; edit and save the ticket"))
            continue
        if rule is not None:
            labels.append((kind.label, rule.label))
    return labels
