"""Template filters: instants in local time, numbers in the reader's locale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lighthouse_os.web import i18n
from lighthouse_os.web.templating import _number, _percent, datetime_filter


@pytest.mark.parametrize(
    ("value", "tz", "shown"),
    [
        (datetime(2026, 3, 1, 3, 0), None, "10:00"),  # naive from SQLite: UTC
        (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), None, "10:00"),
        (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "Asia/Seoul", "12:00"),  # a site's own zone
    ],
)
def test_instants_are_shown_in_local_time(value: datetime, tz: str | None, shown: str) -> None:
    i18n.set_locale("en")
    text = datetime_filter("Asia/Ho_Chi_Minh")(value, "HH:mm", tz)
    assert text == shown


def test_a_missing_instant_is_a_dash() -> None:
    assert datetime_filter("Asia/Ho_Chi_Minh")(None) == "–"


@pytest.mark.parametrize(
    ("locale", "value", "digits", "number", "percent"),
    [
        ("vi", 1234.5678, 1, "1.234,6", "123.456,8%"),
        ("en", 1234.5678, 1, "1,234.6", "123,456.8%"),
        ("en", 0.5, 0, "0", "50%"),  # half to even, as Babel rounds
    ],
)
def test_numbers_follow_the_locale(
    locale: str, value: float, digits: int, number: str, percent: str
) -> None:
    i18n.set_locale(locale)
    assert (_number(value, digits), _percent(value, digits)) == (number, percent)
