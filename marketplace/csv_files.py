"""CSV files that people open in a spreadsheet, written the same way by every export
(the buyers' inbox, the admins' platform reports): UTF-8 with a byte order mark, so
that Excel reads the accents; commas and decimal points, or (``sep=semicolon``) the
semicolons and decimal commas French Excel expects; a typed text never run as a
formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

BOM = "\ufeff"
# The first characters that make a spreadsheet read a cell as a formula (OWASP's CSV
# injection): a text starting with one is written after an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str
    decimal: str


COMMAS = CsvFormat(delimiter=",", decimal=".")
SEMICOLONS = CsvFormat(delimiter=";", decimal=",")


def csv_format(sep: str | None) -> CsvFormat:
    """The format a download link asks for: ``sep=semicolon`` for French Excel (which
    reads a comma as the decimal separator), commas otherwise."""
    return SEMICOLONS if sep == "semicolon" else COMMAS


def text_cell(value) -> str:
    """What a person typed, never run as a formula by the spreadsheet that opens the
    file (a company of ``=HYPERLINK(...)``, a UTM source sent in a link); a phone's
    "+33" stays text too; a line break is written as a space, one line per row."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in _FORMULA_FIRST:
        text = "'" + text
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return text


def cents_cell(cents: int | None, decimal: str = ".") -> str:
    """Integer cents written as "12.50" (or "12,50"), "-3.05" below zero, by integer
    arithmetic (no float rounding); empty for None."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    units, hundredths = divmod(abs(cents), 100)
    return f"{sign}{units}{decimal}{hundredths:02d}"


def lines(rows: Iterable[Iterable], delimiter: str) -> str:
    """``rows`` as CSV lines (CRLF, quoted where needed)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue()


def header_line(header: Iterable[str], delimiter: str) -> str:
    """The byte order mark and the header line: how every file starts."""
    return BOM + lines([header], delimiter)
