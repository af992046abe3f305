"""How old a source is: flagged when it was updated longer ago than the stale_after_years setting."""

from __future__ import annotations

import datetime as dt


def parse_date(value: str) -> dt.date | None:
    """An ISO date (YYYY-MM-DD, as DocMeta.updated holds it), or None when unknown or unreadable."""
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def is_stale(updated: str, stale_after_years: int, today: dt.date) -> bool:
    """Updated before today minus the given number of years; an unknown date is not flagged (nothing to say)."""
    day = parse_date(updated)
    return day is not None and day < years_before(today, stale_after_years)


def is_newer(a: str, b: str) -> bool:
    """Whether a is a later known date than b."""
    da, db = parse_date(a), parse_date(b)
    return da is not None and db is not None and da > db


def age_in_years(updated: str, today: dt.date) -> int | None:
    day = parse_date(updated)
    if day is None:
        return None
    return today.year - day.year - ((today.month, today.day) < (day.month, day.day))
