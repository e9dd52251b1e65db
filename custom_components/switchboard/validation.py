"""Strict argument validators shared by the families' action schemas.

probatio's ``Coerce(int)`` turns ``True`` into 1 and ``2.7`` into 2, and ``Coerce(float)`` lets
``"inf"``/``"nan"`` through and raises ``OverflowError`` (not ``Invalid``) for huge integers.
Action arguments come from users and from the MQTT bridge, so these validators take exactly the
documented types and raise only ``probatio.Invalid``.
"""

import math
import re
from typing import Any, Final

import probatio

_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]{1,18}")


def strict_int(value: Any) -> int:
    """An ``int``, or decimal integer text (``"3"``, as templates render it), as ``int``.

    ``bool``, ``float`` (also ``3.0``) and any other text raise ``probatio.Invalid``.
    """
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise probatio.Invalid(f"expected an integer, got {type(value).__name__}")
    return value


def finite_float(value: Any) -> float:
    """A finite number (int, float or numeric text) as ``float``; else ``probatio.Invalid``.

    Booleans, ``inf``, ``nan`` and integers beyond the float range are refused.
    """
    if isinstance(value, bool):
        raise probatio.Invalid("expected a number, got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise probatio.Invalid(f"expected a finite number, got {type(value).__name__}") from err
    if not math.isfinite(number):
        raise probatio.Invalid("expected a finite number")
    return number


def finite_scalar(value: Any) -> bool | int | float | str:
    """A boolean, a finite number (ints kept exact) or text; else ``probatio.Invalid``.

    For values whose type the protocol decides later (an INDI member: On/Off, number or text).
    """
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        finite_float(value)  # refuses integers beyond the float range
        return value
    if isinstance(value, float):
        return finite_float(value)
    raise probatio.Invalid(f"expected a boolean, a number or text, got {type(value).__name__}")
