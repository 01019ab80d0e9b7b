"""The ledger (台账) import report: what a file would do, or did, row by row. No tables."""

from typing import Literal

from pydantic import BaseModel, Field

from app.models.enums import ImportAction, Stage

LedgerFormat = Literal["xlsx", "csv"]


class LedgerIssue(BaseModel):
    """One problem (or, among warnings, one remark) about a cell, a row or the whole file."""

    row: int | None = Field(description="The spreadsheet's row number, as Excel shows it; null for the file.")
    column: str | None = Field(default=None, description="The column's header, as written in the file.")
    field: str | None = Field(default=None, description="The project field the column maps to.")
    value: str | None = Field(default=None, description="The cell's content, as read (shortened).")
    message: str


class LedgerRowChange(BaseModel):
    """What one valid row creates or updates."""

    row: int
    action: ImportAction
    project_id: int | None = Field(description="The project updated; null for one to be created.")
    code: str | None
    name: str
    fields: list[str] = Field(default_factory=list, description="The fields an update changes.")
    stage_moves: list[Stage] = Field(default_factory=list,
                                     description="The stages the project moves through, in order.")


class LedgerColumnRead(BaseModel):
    header: str = Field(description="The header as written in the file.")
    field: str | None = Field(description="The field it maps to; null if the column is ignored.")


class ImportReport(BaseModel):
    """The result of a ledger import, or of its dry run."""

    dry_run: bool
    valid: bool = Field(description="True when no row has an error: a real run writes everything, else nothing.")
    file_name: str | None
    format: LedgerFormat
    sha256: str = Field(description="The SHA-256 of the uploaded file.")
    sheet: str | None = Field(description="The worksheet read (xlsx).")
    header_row: int
    columns: list[LedgerColumnRead]
    rows: int = Field(description="Data rows read (blank rows and total rows are skipped).")
    created: int
    updated: int
    unchanged: int
    invalid: int = Field(description="Rows with at least one error.")
    errors: list[LedgerIssue]
    errors_truncated: bool = Field(description="True when more errors were found than are listed.")
    warnings: list[LedgerIssue]
    changes: list[LedgerRowChange] = Field(description="The rows that create or update a project.")
    changes_truncated: bool = Field(description="True when more rows change than are listed.")
