"""The registry of device families: one line per vendor package."""

from collections.abc import Mapping

from .family import Family
from .vendors.indi.family import IndiFamily
from .vendors.maxsmart.family import MaxSmartFamily
from .vendors.meross.family import MerossFamily
from .vendors.midea.family import MideaFamily

FAMILIES: Mapping[str, Family] = {
    family.key: family for family in (MaxSmartFamily(), IndiFamily(), MerossFamily(), MideaFamily())
}
"""Every family, by key; the config flow's menu lists them in this order."""
