"""Business dates are the city's calendar days, not UTC's."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.config import get_settings


def today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def local_date(instant: datetime) -> date:
    """The city's calendar day an instant fell on."""
    return instant.astimezone(ZoneInfo(get_settings().timezone)).date()
