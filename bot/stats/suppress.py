"""Small-cell suppression for the anonymous statistics: k-anonymity with secondary suppression.

A report publishes counts of cells (one per combination of the `--by` dimensions), the totals of
each value of each dimension (margins), and the grand total. A count under k could point at a
person, so it is hidden (primary suppression); and since published totals are sums of published
cells, more has to be hidden so that no hidden count can be worked back (secondary suppression).
The rules, applied until nothing changes:

1. Every value under k (but not zero) is hidden.
2. No published sum has exactly one hidden term (total and parts counted alike): a total minus
   its visible parts would give it.
3. Where a total is visible, its hidden parts add up to 0 or to at least k: otherwise the total
   minus the visible parts tells that a few people sit in the hidden cells.
4. No hidden value follows from all the sums together: an exact check by linear algebra over the
   whole system of sums (`determined`), which catches what rules 2 and 3 miss (chains of sums).

To satisfy a rule, the smallest visible value of the sum at fault is hidden too (so as little as
possible is lost); parts before totals.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Key = Hashable


@dataclass(frozen=True)
class Sum:
    """A published equation: values[total] == sum(values[p] for p in parts)."""

    total: Key
    parts: tuple[Key, ...]


def equations_for(cells: Iterable[Any], dims: int) -> tuple[list[Key], list[Sum]]:
    """The keys a report publishes and the sums between them, for cells keyed by tuples of `dims`
    values: each cell; ("margin", d, value) for each value of each dimension; ("total",)."""
    cells = list(dict.fromkeys(cells))
    margins: dict[tuple[object, ...], list[Key]] = {}
    for cell in cells:
        for d in range(dims):
            margins.setdefault(("margin", d, cell[d]), []).append(cell)
    sums = [Sum(total=m, parts=tuple(parts)) for m, parts in margins.items()]
    if dims > 1:
        for d in range(dims):
            sums.append(Sum(total=("total",), parts=tuple(m for m in margins if m[1] == d)))
    else:
        sums.append(Sum(total=("total",), parts=tuple(m for m in margins)))
    keys: list[Key] = [*cells, *margins, ("total",)]
    return keys, sums


def values_for(cells: Mapping[Any, int], dims: int) -> dict[Key, int]:
    """Every published value (cells, margins, total) from the cells' values (keyed by tuples)."""
    values: dict[Key, int] = dict(cells)
    total = 0
    for cell, n in cells.items():
        total += n
        for d in range(dims):
            key = ("margin", d, cell[d])
            values[key] = values.get(key, 0) + n
    values[("total",)] = total
    return values


def suppress(values: Mapping[Key, int], sums: Sequence[Sum], k: int, *, hidden: Iterable[Key] = ()) -> set[Key]:
    """The keys to hide: rules 1 to 4 of the module's docstring. `hidden` starts hidden already
    (say, where another measure of the same report was suppressed)."""
    out = {key for key, n in values.items() if 0 < n < k} | set(hidden)
    if k <= 1 and not out:
        return out
    for _ in range(10 * len(values) + 10):
        changed = False
        for s in sums:
            terms = [s.total, *s.parts]
            shown = [t for t in s.parts if t not in out] + ([s.total] if s.total not in out else [])
            hidden_terms = [t for t in terms if t in out]
            if len(hidden_terms) == 1 and shown:
                out.add(_smallest(shown, values))
                changed = True
            elif s.total not in out:
                hidden_sum = sum(values[p] for p in s.parts if p in out)
                parts_shown = [p for p in s.parts if p not in out]
                if 0 < hidden_sum < k and parts_shown:
                    out.add(_smallest(parts_shown, values))
                    changed = True
        if changed:
            continue
        found = determined(values, sums, out)
        if found:
            key = found[0]
            # Hide the smallest visible value of a sum the found value is in; failing that, of any sum.
            near = [t for s in sums if key == s.total or key in s.parts for t in (*s.parts, s.total) if t not in out]
            shown = near or [t for t in values if t not in out]
            if shown:
                out.add(_smallest(shown, values))
                changed = True
        if not changed:
            return out
    return out  # pragma: no cover - each round hides one more value, so this is never reached


def _smallest(keys: Sequence[Key], values: Mapping[Key, int]) -> Key:
    """The smallest value, parts (not margins or totals) first on a tie."""
    return min(keys, key=lambda k: (values[k], isinstance(k, tuple) and k[:1] in (("margin",), ("total",))))


def determined(values: Mapping[Key, int], sums: Sequence[Sum], hidden: set[Key]) -> list[Key]:
    """Hidden keys whose value follows from the published sums (Gauss-Jordan elimination over the
    rationals on the hidden unknowns: a row left with one unknown fixes it)."""
    index = {key: i for i, key in enumerate(sorted(hidden, key=repr))}
    rows: list[dict[int, Fraction]] = []
    for s in sums:
        row: dict[int, Fraction] = {}
        for key, sign in ((s.total, -1), *((p, 1) for p in s.parts)):
            if key in index:
                row[index[key]] = row.get(index[key], Fraction(0)) + sign
        row = {j: c for j, c in row.items() if c}
        if row:
            rows.append(row)
    pivots: list[tuple[int, dict[int, Fraction]]] = []
    for row in rows:
        for col, prow in pivots:  # reduce by the pivots found so far
            c = row.get(col)
            if c:
                for j, v in prow.items():
                    row[j] = row.get(j, Fraction(0)) - c * v
                row = {j: v for j, v in row.items() if v}
        if not row:
            continue
        col = min(row)
        lead = row[col]
        row = {j: v / lead for j, v in row.items()}
        for i, (pcol, prow) in enumerate(pivots):  # keep earlier pivot rows reduced
            c = prow.get(col)
            if c:
                for j, v in row.items():
                    prow[j] = prow.get(j, Fraction(0)) - c * v
                pivots[i] = (pcol, {j: v for j, v in prow.items() if v})
        pivots.append((col, row))
    keys = {i: key for key, i in index.items()}
    return [keys[col] for col, row in pivots if len(row) == 1]
