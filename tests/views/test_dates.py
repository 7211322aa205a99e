"""Dates and times in the reader's language and time zone, as Babel words them."""
import datetime

import pytest
import pytz
from flask import g
from flask_babel import force_locale, format_datetime, get_timezone

from views.i18n import format_moment

MOMENTS = [datetime.datetime(2026, 11, 30, 9, 5, 7), datetime.datetime(2026, 3, 29, 0, 30),
           datetime.datetime(2026, 12, 31, 23, 59, 59, 999), datetime.datetime(2027, 7, 1, 12)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Stockholm", "America/New_York"])
@pytest.mark.parametrize("language", ["en", "sv", "nb"])
def test_a_timeline_moment_reads_as_babel_words_it_in_the_readers_zone(app, language, zone):
    with app.test_request_context(), force_locale(language):
        get_timezone()
        g._flask_babel.babel_tzinfo = pytz.timezone(zone)  # as a per-user zone would
        for moment in MOMENTS:
            for style in ("short", "medium", "long", "yyyy-MM-dd HH:mm"):
                assert format_moment(moment, style) == format_datetime(moment, style), \
                    (moment, style)
        assert format_moment(None) == ""
        # A day, or a moment that knows its zone, is worded as Babel words it too.
        aware = pytz.timezone("Asia/Tokyo").localize(MOMENTS[0])
        for value in (MOMENTS[0].date(), aware):
            assert format_moment(value, "short") == format_datetime(value, "short")
        if zone == "Europe/Stockholm":
            assert "10:05" in format_moment(MOMENTS[0], "short")
