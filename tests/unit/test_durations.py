"""The one duration format of the progress line and the status bar."""

import math

from rnntui.util.durations import format_duration


def test_durations_read_as_a_clock_and_unknown_ones_as_dashes():
    assert format_duration(0) == "00:00"
    assert format_duration(62.4) == "01:02"
    assert format_duration(3723) == "1:02:03"
    for unknown in (None, math.inf, math.nan, -5.0):
        assert format_duration(unknown) == "--:--"
