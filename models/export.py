"""CSV export of a search or selection: the file, written the same way whether it is
streamed to the browser at once or made by a job (a large export) for a download.

The names a file shows (its header, lead statuses, category groups) come in
the reader's language from the caller (`Labels`), so nothing here knows
about translations. The file is UTF-8 with a byte order mark, which makes
Excel read it as UTF-8 (å, ä, ö, ø, æ) instead of the Windows code page;
Excel also splits lines on the list separator of the computer's region (";"
in the Nordics), so the separator is the caller's choice.
"""
import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from .search import Vocabulary, export_rows

ROWS_PER_CHUNK = 1000

# Formula injection: a cell starting with one of these is run by spreadsheet
# programs. A quote in front keeps it text. Phone numbers like "+46 8 123"
# are left alone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PHONE_LIKE = re.compile(r"^[+\-]?[0-9 ()./-]*$")


@dataclass
class Labels:
    """The header row and the names of statuses and categories ({id: name}) and of
    groups ({code: name}), in the reader's language (R23)."""
    header: list
    statuses: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data):
        return cls(data["header"], {int(k): v for k, v in data["statuses"].items()},
                   data["groups"],
                   {int(k): v for k, v in data.get("categories", {}).items()})


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START) and \
            not PHONE_LIKE.fullmatch(value):
        return "'" + value
    return value


def export_cells(columns, row, labels):
    """One CSV line: names as `labels` give them, dates as ISO 8601."""
    cells = []
    for column, value in zip(["name"] + columns, row):
        if column == "name" and isinstance(value, tuple):
            cells.append(" ".join(part for part in value if part))
        elif column == "source":
            cells.extend(value)
        elif column == "status":
            cells.append(labels.statuses.get(value.id, value.name) if value else "")
        elif column == "group":
            cells.append(labels.groups.get(value, value) if value else "")
        elif column == "category":
            cells.append(labels.categories.get(value.id, value.name) if value else "")
        elif column == "owner":
            cells.append(value.name if value else "")
        elif column in ("created", "last_activity"):
            cells.append(_moment(value))
        elif column == "next_step":
            at, text = value
            cells.append(f"{_moment(at)} {text}".strip() if at else "")
        else:
            cells.append(value if value is not None else "")
    return [safe_cell(cell) for cell in cells]


def _moment(value):
    """A time as ISO 8601 ("2026-12-03 10:00:00"); SQLite may hand back text already."""
    if value is None:
        return ""
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else value


def csv_chunks(matches, columns, sort, labels, separator, rows_per_chunk=ROWS_PER_CHUNK):
    """Yield (bytes, rows written so far) a chunk of rows at a time, header first."""
    columns = [c for c in columns if c != "contacts"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    buffer.write(codecs.BOM_UTF8.decode("utf-8"))
    writer.writerow(labels.header)
    number = 0
    for number, row in enumerate(export_rows(matches, ["name"] + columns, sort,
                                             Vocabulary()), 1):
        writer.writerow(export_cells(columns, row, labels))
        if number % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8"), number
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8"), number
