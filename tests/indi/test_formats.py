"""INDI number formats and labels (``vendors/indi/formats.py``), against the INDI white
paper's numberFormat rules; the real simulators' labels are covered in ``test_init.py``."""

import math

import pytest

from custom_components.switchboard.vendors.indi.formats import (
    clean_label,
    format_number,
    is_sexagesimal,
    label_unit,
    precision,
    step,
)


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (5.19999980926514, "%.2f", "5.20"),
        (16.0, "%4.0f", "16"),
        (1024.0, "%d", "1024"),
        (1500.0, "%g", "1500"),
        (0.000123, "%.2e", "1.23e-04"),
        (12.5, "%010.6m", "12:30:00"),
        (-45.25, "%010.6m", "-45:15:00"),
        (-0.5, "%9.6m", "-0:30:00"),
        (1.25, "%.3m", "1:15"),
        (1.2525, "%.5m", "1:15.2"),
        (1.2525, "%.8m", "1:15:09.0"),
        (1.2525, "%.9m", "1:15:09.00"),
        (23.9999999, "%.6m", "24:00:00"),
        (math.inf, "%.2f", "inf"),
        (2.5, "bogus", "2.5"),
        (2.5, None, "2.5"),
    ],
)
def test_format_number(value: float, fmt: str | None, text: str) -> None:
    """printf forms as C prints them (no padding), %m as sexagesimal fields."""
    assert format_number(value, fmt) == text


@pytest.mark.parametrize(
    ("fmt", "digits", "smallest"),
    [
        ("%.2f", 2, 0.01),
        ("%.f", 0, 1.0),
        ("%4f", 6, 1e-6),
        ("%d", 0, 1.0),
        ("%g", None, 0.001),
        ("%010.6m", None, 1 / 3600),
        ("%.3m", None, 1 / 60),
        (None, None, 0.001),
    ],
)
def test_precision_and_step(fmt: str | None, digits: int | None, smallest: float) -> None:
    """Display precision of printf formats; the step a format shows (sexagesimal too)."""
    assert precision(fmt) == digits
    assert step(fmt) == pytest.approx(smallest)
    assert is_sexagesimal(fmt) == (fmt is not None and fmt.endswith("m"))


@pytest.mark.parametrize(
    ("label", "name", "unit"),
    [
        ("Pixel size (um)", "Pixel size", "µm"),
        ("Max. dT (C/min)", "Max. dT", "°C/min"),
        ("Maximum Buffer Size (MB)", "Maximum Buffer Size", "MB"),
        ("Duration (s)", "Duration", "s"),
        ("RA (hh:mm:ss)", "RA (hh:mm:ss)", None),
        ("Record (Frames)", "Record (Frames)", None),
        ("Left ", "Left", None),
        ("  Two\n  lines ", "Two lines", None),
    ],
)
def test_label_unit(label: str, name: str, unit: str | None) -> None:
    """Known units leave the label for the entity's unit; other brackets stay in the name."""
    assert label_unit(label) == (name, unit)
    assert clean_label(label) == " ".join(label.split())
