"""Red/amber/green status of an indicator value against its target (the rule the dashboard shows).

- no value or no target: ``none``;
- higher_is_better: ``green`` when value >= target, ``amber`` when value >= target - tolerance, else ``red``;
- lower_is_better: ``green`` when value <= target, ``amber`` when value <= target + tolerance, else ``red``;
- tolerance: 5 points when the unit is a percentage ('%'), else 10 % of the target's magnitude.
"""

from __future__ import annotations

STATUSES = ("green", "amber", "red", "none")
PERCENT_POINTS = 5.0
RELATIVE_SHARE = 0.10
RULE_TEXT = ("green: target met; amber: within 5 points of the target (percentages) or within 10% of it "
             "(other units); red: further off; none: no value or no target")


def tolerance(target: float, unit: str) -> float:
    """How far from the target a value may be and still be amber."""
    return PERCENT_POINTS if unit == "%" else abs(target) * RELATIVE_SHARE


def status_of(value: float | None, target: float | None, direction: str, unit: str) -> str:
    """The status of one value (pure Python: documentation, tests and the dashboard legend)."""
    if value is None or target is None:
        return "none"
    tol = tolerance(target, unit)
    if direction == "lower_is_better":
        return "green" if value <= target else "amber" if value <= target + tol else "red"
    return "green" if value >= target else "amber" if value >= target - tol else "red"
