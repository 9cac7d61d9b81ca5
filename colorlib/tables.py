"""Tables as a reader sees them: one Markdown table from a header and rows (the book renders it as an HTML
``<table>``; JupyterLab does too). Every table of the chapters and of the library's reports is made here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.display import Markdown


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A Markdown table: ``header`` and ``rows`` of cells (``str()`` of each), ``align`` one letter per column,
    ``l``, ``r`` or ``c`` (default: the first column left, the others right, as numbers read best)."""
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or any(len(r) != len(header) for r in rows):
        raise ValueError(f"table: {len(header)} columns, but alignment {align!r} and rows of "
                         f"{sorted({len(r) for r in rows})} cells")
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def bound(x: float, fmt: str) -> str:
    """``x`` formatted with ``fmt``, with more decimals (up to three more) where a signed ``fmt`` (a difference's)
    would round a nonzero bound to zero: "−0.3" must not read "-0", which looks as if an interval touched 0 when it
    excludes it. A bound that is zero (as a record rounded to its decimals can hold) is written unsigned, "0.00":
    neither "-0.00" nor "+0.00" says on which side of zero it lies."""
    if x == 0:
        return format(0.0, fmt.replace("+", ""))
    text = format(x, fmt)
    precision = re.fullmatch(r"([^.]*)\.(\d+)f", fmt)
    if float(text) == 0 and "+" not in fmt:  # a score that rounds to zero: "0.0", never "-0.0"
        return format(0.0, fmt)
    if float(text) != 0 or precision is None or "+" not in fmt:  # signed formats: the differences
        return text
    for extra in range(1, 4):
        text = format(x, f"{precision[1]}.{int(precision[2]) + extra}f")
        if float(text) != 0:
            break
    return text


def with_interval(value: float, low: float, high: float, fmt: str = ".1f", small: bool = True) -> str:
    """``12.3 [10.1, 14.2]``: a value and its 95% interval, the interval in smaller type for a table cell
    (``small=False``: plain text, for a terminal). A bound that would round to zero gets more decimals (:func:`bound`)."""
    bounds = f"[{bound(low, fmt)}, {bound(high, fmt)}]"
    # an estimate that rounds to zero reads "0.00" (not "-0.00") where its interval holds 0; where the interval
    # excludes 0 it keeps its sign and gets the decimals it needs, as the bounds do
    text = format(0.0, fmt.replace("+", "")) if low <= 0 <= high and float(format(value, fmt)) == 0 else bound(value, fmt)
    return f"{text} " + (f"<small>{bounds}</small>" if small else bounds)


def paired(d: dict, fmt: str = "+.1f", small: bool = True) -> str:
    """A paired difference ``d`` (``difference``, ``low``, ``high``, as :meth:`Evaluation.compare` gives it)
    with its interval, as :func:`with_interval` writes it."""
    return with_interval(d["difference"], d["low"], d["high"], fmt, small)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> Markdown:
    """:func:`markdown_table` as a displayable object (``IPython.display.Markdown``)."""
    from IPython.display import Markdown

    return Markdown(markdown_table(header, rows, align))
