"""Dates the search reasons with: eras to fall back to and when each Python came out."""

from __future__ import annotations

import datetime as dt

# Date horizons to fall back to when no single dependency can be blamed, each with the
# newest Python that had wheels for most packages by then.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2021, 6, 1), "3.8"),
    (dt.date(2019, 6, 1), "3.7"),
    (dt.date(2017, 6, 1), "3.6"),
)
PY2_ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 12, 31), "2.7"),
    (dt.date(2016, 6, 1), "2.7"),
)

# First release dates of CPython minor versions: which interpreter an old release targeted.
PYTHON_RELEASED: dict[str, dt.date] = {
    "2.7": dt.date(2010, 7, 3), "3.6": dt.date(2016, 12, 23), "3.7": dt.date(2018, 6, 27),
    "3.8": dt.date(2019, 10, 14), "3.9": dt.date(2020, 10, 5), "3.10": dt.date(2021, 10, 4),
    "3.11": dt.date(2022, 10, 24), "3.12": dt.date(2023, 10, 2), "3.13": dt.date(2024, 10, 7),
}
