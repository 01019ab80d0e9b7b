"""Links in answers: the one place that knows the API's base path and how a query is written.

An answer's figure links to the list of what it counts, so a reader can go from a number
to the projects behind it; the links are relative to the host the client called.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from urllib.parse import urlencode

API_BASE = "/api/v1"


def link(path: str, query: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> str:
    """``path`` (below the base path) with ``query``, as an answer carries it."""
    encoded = urlencode(list(query.items()) if isinstance(query, Mapping) else list(query))
    return f"{API_BASE}{path}?{encoded}" if encoded else f"{API_BASE}{path}"


def clocks(as_of: date, known_on: datetime | None = None) -> list[tuple[str, str]]:
    """The two clocks of a figure as query parameters: ``as_of``, and ``known_on`` when it was
    read by an earlier knowledge, so that the list behind it is read the same way."""
    return [("as_of", as_of.isoformat()), *([("known_on", known_on.isoformat())] if known_on else [])]
