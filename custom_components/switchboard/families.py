"""The registry of device families: one line per vendor package."""

from collections.abc import Mapping

from .family import Family
from .vendors.maxsmart.family import MaxSmartFamily

FAMILIES: Mapping[str, Family] = {family.key: family for family in (MaxSmartFamily(),)}
"""Every family, by key; the config flow's menu lists them in this order."""
