"""The rule book with this installation's settings (which funding kinds get a discount the
regulation leaves open)."""

from django.conf import settings

from kelambu.lib.contributions import FUNDING_KINDS, RuleBook, RuleError, load_rulebook


def rulebook() -> RuleBook:
    kinds = frozenset(settings.KELAMBU_DISCOUNT_FUNDING)
    unknown = kinds - set(FUNDING_KINDS)
    if unknown:
        raise RuleError(f"KELAMBU_DISCOUNT_FUNDING: unknown funding kind(s) {', '.join(sorted(unknown))}")
    return load_rulebook(kinds)


def lowest_income_basis() -> int:
    """The lowest declared income basis in force today (the default for a new program)."""
    from datetime import date

    from kelambu.lib.contributions import minimum_basis

    return minimum_basis(rulebook(), date.today())
