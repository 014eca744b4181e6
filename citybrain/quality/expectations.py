"""Custom Great Expectations 1.x expectations for Chinese government identifiers.

- ``expect_column_values_to_be_valid_id_number``: GB 11643 resident ID numbers (ISO 7064 MOD 11-2
  check character, real non-future birth date);
- ``expect_column_values_to_be_valid_credit_code``: GB 32100 unified social credit codes (MOD 31);
- ``expect_column_values_to_be_valid_division_code``: GB/T 2260 division codes, by the rule conform
  applies (``is_known_division``): six digits of a known province and, when ``codes`` is given,
  listed there (all values, or with ``covered`` only those of the prefectures the list holds fully).

Each is a ColumnMapExpectation over a ColumnMapMetricProvider with a pandas implementation (the
engine the gates run on) that calls the scalar validators of ``citybrain.standards.identifiers``.
Importing this module registers them with GX.
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from citybrain.standards.identifiers import is_known_division, is_valid_credit_code, is_valid_id_number


class ColumnValuesValidIdNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_id_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return column.map(is_valid_id_number)


class ColumnValuesValidCreditCode(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_credit_code"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return column.map(is_valid_credit_code)


class ColumnValuesValidDivisionCode(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_division_code"
    condition_value_keys = ("codes", "covered")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, codes=None, covered=None, **kwargs):
        known = frozenset(codes or ())
        prefectures = None if covered is None else frozenset(covered)
        return column.map(lambda v: is_known_division(v, known, prefectures))


class ExpectColumnValuesToBeValidIdNumber(ColumnMapExpectation):
    """Expect resident ID numbers (GB 11643) with a right MOD 11-2 check character and a real birth date."""

    map_metric: ClassVar[str] = "column_values.valid_id_number"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidCreditCode(ColumnMapExpectation):
    """Expect unified social credit codes (GB 32100) with a right MOD 31 check character."""

    map_metric: ClassVar[str] = "column_values.valid_credit_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidDivisionCode(ColumnMapExpectation):
    """Expect GB/T 2260 division codes: six digits of a known province; in ``codes`` when given, but with
    ``covered`` (prefecture prefixes) only codes of those prefectures must be listed."""

    codes: list[str] | None = None
    covered: list[str] | None = None
    map_metric: ClassVar[str] = "column_values.valid_division_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "codes", "covered")


CUSTOM_EXPECTATIONS = {
    "id_number": ExpectColumnValuesToBeValidIdNumber,
    "credit_code": ExpectColumnValuesToBeValidCreditCode,
    "division_code": ExpectColumnValuesToBeValidDivisionCode,
}
