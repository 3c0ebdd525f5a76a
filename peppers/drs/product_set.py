"""The product set of a run: which product rules ``pep run make products`` makes.

A *product rule* is a command rule storing its output as a product
(``store: product``, ``products/NAME.tif``). ``products`` as a make target
stands for every product rule whose whole chain the run's inputs allow:
each rule it needs has its input images made by a rule or recorded as run
inputs. Product rules added later (displacement, look vectors, masks) join
the set by being declared; nothing here lists them.
"""

from __future__ import annotations

from typing import Any

from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.errors import RuleError

__all__ = ["product_rules", "product_targets"]


def product_rules(rules: Any) -> list[str]:
    """Names of the product rules of a :class:`~peppers.drs.ruleset.RuleSet`, sorted."""
    return sorted(name for name, rule in rules.rules.items()
                  if rule.kind == "command" and rule.store == "product")


def product_targets(db: Any, *, package: bool | None = None) -> list[str]:
    """The product rules a run can make from its inputs (the ``products`` target).

    Parameters
    ----------
    db : RunDatabase
    package : bool, optional
        Load the packaged rules (default: HKV ``drs.package_rules``, else True).

    Returns
    -------
    list of str
        Rule names, sorted.

    Raises
    ------
    RuleError
        If no product rule can be made (names the first missing input).
    """
    rules = RuleSet.for_run(db, package=package)
    state = RunState(db)
    chosen, first_error = [], None
    for name in product_rules(rules):
        try:
            rules.check_inputs(rules.needed([name]), state.is_run_input)
        except RuleError as error:
            first_error = first_error or error
            continue
        chosen.append(name)
    if not chosen:
        raise RuleError(f"{db.root}: the run's inputs allow no product"
                        + (f" ({first_error})" if first_error else " (no product rules)"))
    return chosen
