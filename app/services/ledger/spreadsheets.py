"""Reading and writing ledger files (.xlsx, .csv): blocking code, run in a worker thread.

Reading is defensive, since the bytes come from anyone with an upload key:
- the format is decided from the content (a zip is an .xlsx; an old binary .xls is
  refused with advice), not from the name alone;
- an .xlsx is a zip: its declared uncompressed sizes and compression ratio are checked
  before it is opened (Python's zipfile refuses an entry that inflates past its declared
  size, so the declared sizes bound the work), and openpyxl parses its XML through
  defusedxml (no entity expansion);
- a .csv is UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (which includes
  GBK, what spreadsheets in China write); text with NUL or control characters is not a
  spreadsheet;
- rows and columns are capped.

Writing streams: CSV row batches become bytes as they come; an .xlsx is written by
openpyxl's write-only workbook, which keeps rows in a temporary file, not in memory.
"""

import codecs
import csv
import io
import re
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

import anyio
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.config import Settings
from app.errors import InvalidInput, PayloadTooLarge
from app.models.ledger import LedgerFormat

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CHUNK_BYTES = 64 * 1024


def attachment(ascii_name: str, filename: str) -> str:
    """A download's Content-Disposition: ``filename`` (Chinese, RFC 5987) with an ASCII
    fallback for clients that read only the plain parameter."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


async def saved_chunks(save: Callable[[IO[bytes]], None]) -> AsyncIterator[bytes]:
    """What ``save`` writes to a file, written off the event loop, then read back in chunks
    (a workbook is only whole once saved)."""
    with tempfile.TemporaryFile() as out:
        await anyio.to_thread.run_sync(save, out)
        out.seek(0)
        while chunk := await anyio.to_thread.run_sync(out.read, CHUNK_BYTES):
            yield chunk
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .et, .doc: the old binary Office formats
HEADER_SEARCH_ROWS = 10
MAX_COLUMNS = 200
MAX_ZIP_ENTRIES = 10_000
# Below this many expanded bytes the compression ratio is not checked: small files compress well.
RATIO_FLOOR_BYTES = 8 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    max_uncompressed_bytes: int
    max_compression_ratio: int
    max_rows: int

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(max_bytes=settings.import_max_bytes, max_uncompressed_bytes=settings.import_max_uncompressed_bytes,
                   max_compression_ratio=settings.import_max_compression_ratio, max_rows=settings.import_max_rows)


@dataclass(slots=True)
class Sheet:
    """A file's rows as cells: ``rows`` yields (row number, cells), the row number as Excel shows it."""

    format: LedgerFormat
    name: str | None
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    size: int | None  # the number of rows, as the file declares it (for progress only)


def _unsupported(message: str) -> InvalidInput:
    return InvalidInput.field("file", message, code="unsupported_file")


def detect_format(content: bytes, filename: str | None) -> LedgerFormat:
    """xlsx or csv, from the content first and the name second; else 422 ``unsupported_file``."""
    suffix = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if not content:
        raise _unsupported("is empty")
    if content.startswith(OLE_MAGIC):
        raise _unsupported("is an old binary spreadsheet (.xls or .et); save it as .xlsx or .csv and upload again")
    if content.startswith(ZIP_MAGIC):
        if suffix not in ("", "xlsx", "xlsm", "zip"):
            raise _unsupported(f"is a zip archive named .{suffix}: upload an .xlsx workbook or a .csv file")
        return "xlsx"
    if suffix in ("xlsx", "xlsm"):
        raise _unsupported("is named .xlsx but is not an Excel workbook")
    if suffix not in ("", "csv", "txt", "tsv"):
        raise _unsupported(f"is a .{suffix} file: upload an .xlsx workbook or a .csv file")
    return "csv"


def read(content: bytes, filename: str | None, limits: Limits) -> Sheet:
    """Open an uploaded ledger; raises 413/422 for files that are not safe, readable spreadsheets."""
    if len(content) > limits.max_bytes:
        raise PayloadTooLarge(f"The file is {len(content) / 2**20:,.1f} MiB; the limit is "
                              f"{limits.max_bytes / 2**20:,.1f} MiB. Split the ledger into smaller files.")
    fmt = detect_format(content, filename)
    return _read_xlsx(content, limits) if fmt == "xlsx" else _read_csv(content, limits)


# --- xlsx ----------------------------------------------------------------------------------


def check_zip(content: bytes, limits: Limits) -> None:
    """Refuse a zip whose entries would expand past the limits (a zip bomb), before opening it."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _unsupported("is not a readable .xlsx workbook (its zip structure is broken)") from exc
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _unsupported(f"holds {len(entries)} files: not a ledger workbook")
    expanded = sum(e.file_size for e in entries)
    compressed = sum(e.compress_size for e in entries)
    mib = 1024 * 1024
    if expanded > limits.max_uncompressed_bytes:
        raise PayloadTooLarge(
            f"The workbook would expand to {expanded / mib:,.0f} MiB; the limit is "
            f"{limits.max_uncompressed_bytes / mib:,.0f} MiB. Split the ledger, or upload it as .csv.",
            code="expanded_size_too_large")
    ratio = expanded / max(compressed, 1)
    if expanded > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
        raise PayloadTooLarge(
            f"The workbook would expand {ratio:,.0f} times ({expanded / mib:,.0f} MiB); a ledger expands at "
            f"most {limits.max_compression_ratio} times. It is refused as a possible zip bomb.",
            code="expanded_size_too_large")
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        raise _unsupported("is a zip archive but not an Excel workbook")


def _read_xlsx(content: bytes, limits: Limits) -> Sheet:
    check_zip(content, limits)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for malformed parts
        raise _unsupported("is not a readable .xlsx workbook") from exc
    if not book.worksheets:
        raise _unsupported("has no worksheet")
    sheet = book.worksheets[0]  # the first worksheet is the ledger

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        number = 0
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, _capped(number, cells, limits)
        except InvalidInput:
            raise
        except Exception as exc:
            raise _unsupported(f"could not be read past row {number}: the workbook is damaged") from exc
        finally:
            book.close()

    return Sheet(format="xlsx", name=sheet.title, rows=rows(), size=sheet.max_row)


def _capped(number: int, cells: Sequence[Any], limits: Limits) -> tuple[Any, ...]:
    if number > limits.max_rows + HEADER_SEARCH_ROWS:
        raise InvalidInput.field("file", f"has more than {limits.max_rows:,} rows: split the ledger",
                                 code="too_many_rows")
    if len(cells) > MAX_COLUMNS:
        # Formatting can stretch a sheet far to the right; only blank cells may be cut.
        if any(c is not None and c != "" for c in cells[MAX_COLUMNS:]):
            raise InvalidInput.field("file", f"has more than {MAX_COLUMNS} columns in row {number}",
                                     code="unsupported_file")
        cells = cells[:MAX_COLUMNS]
    return tuple(cells)


# --- csv -----------------------------------------------------------------------------------


def decode_text(content: bytes) -> str:
    """The text of a CSV: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030/GBK."""
    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        if b"\x00" in content:
            raise _unsupported("is binary, not a spreadsheet: upload an .xlsx workbook or a .csv file")
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            raise _unsupported("contains control characters: it is not a CSV file")
        return text
    raise _unsupported("is not text in UTF-8 or GB18030/GBK: save the CSV as UTF-8 and upload again")


def _read_csv(content: bytes, limits: Limits) -> Sheet:
    text = decode_text(content)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, _capped(number, cells, limits)
        except csv.Error as exc:
            raise _unsupported(f"is not a well-formed CSV file near row {number + 1}: {exc}") from exc

    return Sheet(format="csv", name=None, rows=rows(), size=text.count("\n") + (not text.endswith("\n")))


# --- writing -------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_chunk(rows: Sequence[Sequence[Any]], *, bom: bool = False) -> bytes:
    """Rows as UTF-8 CSV bytes (the first chunk with a BOM, so that Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[csv_cell(v) for v in row] for row in rows])
    return (codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode("utf-8")


class XlsxLedger:
    """A write-only workbook: a bold, frozen, filterable header row; sensible column widths."""

    def __init__(self, headers: Sequence[str], widths: Sequence[int], *, title: str = "项目台账") -> None:
        self.book = Workbook(write_only=True)
        # openpyxl names the write-only sheet's class only in a private module.
        self.sheet: Any = self.book.create_sheet(title)
        self.sheet.freeze_panes = "A2"
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}1"
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        cells = []
        for text in headers:
            cell = WriteOnlyCell(self.sheet, value=text)
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cells.append(cell)
        self.sheet.append(cells)
        self.saved = False

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.sheet.append(list(row))

    def save(self, out: IO[bytes]) -> None:
        self.book.save(out)
        self.saved = True

    def discard(self) -> None:
        """Remove the rows' temporary file of a workbook that will not be saved (an abandoned export)."""
        if self.saved:
            return
        self.saved = True
        self.sheet.close()
        writer = getattr(self.sheet, "_writer", None)  # openpyxl removes it only on save or at exit
        if writer is not None:
            writer.cleanup()
