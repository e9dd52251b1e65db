"""INDI number formats and labels: display precision, text, units written into labels.

Facts (INDI white paper, section "numberFormat"): a number member's ``format`` is a printf
specification (``%.2f``, ``%6.3f``, ``%g``, ``%d``) or the INDI sexagesimal form
``%<w>.<f>m``, where ``<f>`` picks the fields: 3 ``-dd:mm``, 5 ``-dd:mm.m``, 6 ``-dd:mm:ss``,
8 ``-dd:mm:ss.s``, 9 ``-dd:mm:ss.ss`` (right-aligned in ``<w>`` characters). Drivers also write
units into labels (``Pixel size X (um)``, ``Ramp (C/min)``, ``Memory (MB)``); Home Assistant
wants the name without them and the unit as the entity's unit.
"""

from functools import lru_cache
import math
import re
from typing import Final

from homeassistant.const import UnitOfInformation, UnitOfLength, UnitOfTemperature, UnitOfTime

_PRINTF: Final = re.compile(r"^%[-+ 0#]*(\d*)(?:\.(\d*))?([dieEfFgGm])$")
_LABEL_UNIT: Final = re.compile(r"^(?P<name>.*?\S)\s*\((?P<unit>[^()\s]{1,12})\)$")
UNITS: Final[dict[str, str]] = {
    "um": "µm",
    "µm": "µm",
    "mm": UnitOfLength.MILLIMETERS,
    "m": UnitOfLength.METERS,
    "C": UnitOfTemperature.CELSIUS,
    "°C": UnitOfTemperature.CELSIUS,
    "C/min": f"{UnitOfTemperature.CELSIUS}/min",
    "MB": UnitOfInformation.MEGABYTES,
    "KB": UnitOfInformation.KILOBYTES,
    "kB": UnitOfInformation.KILOBYTES,
    "s": UnitOfTime.SECONDS,
    "sec": UnitOfTime.SECONDS,
    "seconds": UnitOfTime.SECONDS,
    "ms": UnitOfTime.MILLISECONDS,
    "deg": "°",
    "degrees": "°",
    "%": "%",
    "pixels": "px",
    "px": "px",
    "steps": "steps",
}
"""Units found in driver labels -> Home Assistant's spelling (others are not units)."""

_SEXAGESIMAL_FIELDS: Final = {3: (1, 0), 5: (1, 1), 6: (2, 0), 8: (2, 1), 9: (2, 2)}
"""``%<w>.<f>m``: f -> (number of fields after the degrees or hours, decimals of the last)."""


def clean_label(label: str) -> str:
    """A label with surrounding and repeated whitespace removed."""
    return " ".join(label.split())


@lru_cache(maxsize=4096)
def label_unit(label: str) -> tuple[str, str | None]:
    """Split ``Pixel size (um)`` into (``Pixel size``, ``µm``); labels without a unit as is."""
    label = clean_label(label)
    match = _LABEL_UNIT.match(label)
    if match is None or (unit := UNITS.get(match["unit"])) is None:
        return label, None
    return match["name"], unit


@lru_cache(maxsize=1024)
def is_sexagesimal(fmt: str | None) -> bool:
    """Whether ``fmt`` is INDI's ``%<w>.<f>m`` form."""
    match = _PRINTF.match(fmt.strip()) if fmt else None
    return match is not None and match[3] == "m"


def precision(fmt: str | None) -> int | None:
    """Decimal places a printf format shows (``%.2f`` -> 2, ``%d`` -> 0).

    None for ``%g``, ``%e``, ``%m`` and anything unreadable.
    """
    match = _PRINTF.match(fmt.strip()) if fmt else None
    if match is None:
        return None
    conversion = match[3]
    if conversion in "di":
        return 0
    if conversion in "fF":
        return int(match[2]) if match[2] else (0 if match[2] == "" else 6)
    return None


def step(fmt: str | None) -> float:
    """The smallest step a format shows (``%.2f`` -> 0.01, ``%9.6m`` -> 1/3600)."""
    if is_sexagesimal(fmt):
        assert fmt is not None
        match = _PRINTF.match(fmt.strip())
        assert match is not None
        fields, decimals = _SEXAGESIMAL_FIELDS.get(int(match[2] or 0), (2, 0))
        return 60.0**-fields * 10.0**-decimals
    digits = precision(fmt)
    return 0.001 if digits is None else 10.0**-digits


def format_number(value: float, fmt: str | None) -> str:
    """``value`` as the driver's format shows it, without the width's padding.

    ``%.2f`` of 5.2 -> ``5.20``, ``%010.6m`` of 5.5 -> ``5:30:00`` (Home Assistant is not a
    fixed-width terminal). Non-finite values and unreadable formats fall back to ``%g``.
    """
    match = _PRINTF.match(fmt.strip()) if fmt else None
    if match is None or not math.isfinite(value):
        return f"{value:g}"
    if match[3] != "m":
        try:
            text = (fmt or "").strip() % (round(value) if match[3] in "di" else value)
            return text.strip()
        except TypeError, ValueError, OverflowError:
            return f"{value:g}"
    fields, decimals = _SEXAGESIMAL_FIELDS.get(int(match[2] or 0), (2, 0))
    sign = "-" if value < 0 else ""
    scale = 60**fields * 10**decimals
    total = round(abs(value) * scale)
    whole, rest = divmod(total, scale)
    parts: list[str] = []
    for index in range(fields):
        unit = 60 ** (fields - index - 1) * 10**decimals
        field, rest = divmod(rest, unit)
        if index == fields - 1 and decimals:
            parts.append(f"{field:02d}.{rest:0{decimals}d}")
        else:
            parts.append(f"{field:02d}")
    return f"{sign}{whole}:" + ":".join(parts)
