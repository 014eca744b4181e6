"""Custom Great Expectations 1.x expectations for Chinese government identifiers.

- ``expect_column_values_to_be_valid_id_number``: GB 11643 resident ID numbers (ISO 7064 MOD 11-2
  check character, real non-future birth date);
- ``expect_column_values_to_be_valid_credit_code``: GB 32100 unified social credit codes (MOD 31);
- ``expect_column_values_to_be_valid_division_code``: GB/T 2260 division codes (6-digit shape and,
  when ``codes`` is given, membership in the catalogue's division list).

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

from citybrain.standards.identifiers import is_division_code, is_valid_credit_code, is_valid_id_number


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
    condition_value_keys = ("codes",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, codes=None, **kwargs):
        known = set(codes or ())
        return column.map(lambda v: is_division_code(v) and (not known or v in known))


class ExpectColumnValuesToBeValidIdNumber(ColumnMapExpectation):
    """Expect resident ID numbers (GB 11643) with a right MOD 11-2 check character and a real birth date."""

    map_metric: ClassVar[str] = "column_values.valid_id_number"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidCreditCode(ColumnMapExpectation):
    """Expect unified social credit codes (GB 32100) with a right MOD 31 check character."""

    map_metric: ClassVar[str] = "column_values.valid_credit_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ExpectColumnValuesToBeValidDivisionCode(ColumnMapExpectation):
    """Expect GB/T 2260 division codes: six digits, first 1-8, and in ``codes`` when given."""

    codes: list[str] | None = None
    map_metric: ClassVar[str] = "column_values.valid_division_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "codes")


CUSTOM_EXPECTATIONS = {
    "id_number": ExpectColumnValuesToBeValidIdNumber,
    "credit_code": ExpectColumnValuesToBeValidCreditCode,
    "division_code": ExpectColumnValuesToBeValidDivisionCode,
}
