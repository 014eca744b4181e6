"""Disclosure control: k-anonymity of microdata and small-cell suppression of aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_K = 10  # 无条件开放 (STANDARDS section 7)
RESTRICTED_K = 5  # 有条件开放
DEFAULT_THRESHOLD = 10


@dataclass(frozen=True)
class KAnonymity:
    quasi_identifiers: tuple[str, ...]
    k: int
    smallest_class: int  # rows in the smallest equivalence class (0 for an empty table)
    classes_below_k: int

    @property
    def holds(self) -> bool:
        return self.classes_below_k == 0

    def describe(self) -> str:
        return (f"k-anonymity on ({', '.join(self.quasi_identifiers)}) with k={self.k}: smallest class "
                f"{self.smallest_class} rows, {self.classes_below_k} classes below k")


def k_anonymity(table: pa.Table, quasi_identifiers: list[str], k: int = DEFAULT_K) -> KAnonymity:
    """Equivalence classes of the quasi-identifiers: k-anonymity holds when every class has >= k rows."""
    missing = [q for q in quasi_identifiers if q not in table.column_names]
    if missing:
        raise KeyError(f"k-anonymity: quasi-identifiers {missing} are not published columns "
                       f"({', '.join(table.column_names)})")
    if table.num_rows == 0:
        return KAnonymity(tuple(quasi_identifiers), k, 0, 0)
    counts = table.group_by(quasi_identifiers, use_threads=False).aggregate([([], "count_all")])
    sizes = counts.column("count_all").to_pylist()
    return KAnonymity(tuple(quasi_identifiers), k, min(sizes), sum(1 for s in sizes if s < k))


def linkage(table: pa.Table, other: pa.Table, keys: list[tuple[str, str]], k: int = DEFAULT_K) -> KAnonymity:
    """Join ``table`` to another published table on ``keys`` ((column, other column) pairs): the classes of
    ``table``'s rows by the key values found in ``other`` must each hold >= k rows, or the join isolates people.
    Keys compare as text (a code published as a number in one table and as text in another still joins); a
    null key joins nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def as_text(t: pa.Table, columns: list[str]) -> pa.Table:
        return pa.table([pc.cast(t.column(c), pa.string()) for c in columns], names=[a for a, _ in keys]
                        ).drop_null()

    names = tuple(a if a == b else f"{a}={b}" for a, b in keys)
    mine = [a for a, _ in keys]
    rows = as_text(table, mine)
    found = as_text(other, [b for _, b in keys]).group_by(mine, use_threads=False).aggregate([])
    counts = rows.group_by(mine, use_threads=False).aggregate([([], "count_all")])
    sizes = (counts.join(found, mine, join_type="inner", use_threads=False).column("count_all").to_pylist()
             if counts.num_rows and found.num_rows else [])
    return KAnonymity(names, k, min(sizes, default=0), sum(1 for s in sizes if s < k))


def count_by(table: pa.Table, keys: list[str], threshold: int = DEFAULT_THRESHOLD) -> pa.Table:
    """Row counts per combination of ``keys`` with small cells suppressed."""
    counts = table.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    counts = counts.rename_columns([*keys, "count"] if counts.column_names[-1] == "count_all"
                                   else [c if c != "count_all" else "count" for c in counts.column_names])
    counts = counts.select([*keys, "count"]).sort_by([(k, "ascending") for k in keys])
    return suppress_small_cells(counts, "count", threshold)


def suppress_small_cells(table: pa.Table, count_column: str, threshold: int = DEFAULT_THRESHOLD,
                         value_columns: list[str] | None = None) -> pa.Table:
    """Null ``count_column`` (and ``value_columns``) where 0 < count < threshold, with a `suppressed` flag.

    A zero count discloses nobody and stays; a null count is left as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    counts = table.column(count_column)
    small = pc.fill_null(pc.and_(pc.greater(counts, 0), pc.less(counts, threshold)), False)
    out = table
    for name in [count_column, *(value_columns or [])]:
        col = out.column(name)
        idx = out.column_names.index(name)
        out = out.set_column(idx, name, pc.if_else(small, pa.scalar(None, col.type), col))
    return out.append_column("suppressed", small)
