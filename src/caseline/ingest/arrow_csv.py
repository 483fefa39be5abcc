"""Plain CSV text parsed by Arrow, where Arrow's parse is certain to be the csv module's.

Arrow's CSV parser runs in C++ over the whole text; the csv module gives a Python list per
record, which costs more than all the rest of reading. The two agree on plain text: every
record on one line, every field either unquoted (no quote in it) or quoted from its first
character to its last (quotes inside doubled), no line blank, no CR but before LF, and no
NUL. ``plain_columns`` checks that first and gives ``None`` for any other text, which the
csv module then reads, with all its rules for what is quarantined and why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv


@cache
def _plain_text(delimiter: str) -> str:
    """Lines of fields, each unquoted (no quote in it) or quoted from first to last
    character (quotes inside doubled), as an RE2 pattern over the whole text."""
    d = re.escape(delimiter)
    field = rf'(?:"(?:[^"\r\n]|"")*"|[^"{d}\r\n]*)'
    line = rf"{field}(?:{d}{field})*"
    return rf"^(?:{line}\r?\n)*(?:{line})?$"


# A value of white space alone (every character ``str.isspace`` takes for one), as RE2.
_BLANK = (
    r"^[\t-\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]*$"
)


def plain_columns(
    text: str, lines: Sequence[str], width: int, delimiter: str
) -> list[list[str]] | None:
    """The ``width`` columns of ``text`` (its ``lines``, split at LF), one value per line,
    or ``None`` when the text is not plain (see the module's docstring) or Arrow finds a
    line with another number of fields."""
    if not lines or "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    if '"' in text:
        whole = pa.array([text], pa.string())
        if not pc.match_substring_regex(whole, _plain_text(delimiter))[0].as_py():
            return None
    names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode()),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != len(lines):
        return None
    if width and pc.any(pc.match_substring_regex(table.column(0), _BLANK)).as_py():
        return None  # perhaps a blank line, which the csv module's reader skips
    return [column.to_pylist() for column in table.columns]
