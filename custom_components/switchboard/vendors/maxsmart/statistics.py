"""Import a strip's own energy history into Home Assistant's long-term statistics.

The strip keeps hourly (24), daily (31) and monthly (12) energy per port (cmd 510,
docs/protocols/maxsmart.md §3). We merge them into hourly rows, finest data first: the last 24
hours hour by hour; earlier days of the daily window as one row at the day's last hour; earlier
months as one row at the month's last hour. Where a coarse sample is partly covered by finer
ones, only the remainder (coarse minus the finer samples inside it) is added, at the last hour
before the finer samples, so nothing is counted twice. Coarse energy goes to the end of the span
it covers so that every row's sum is the running total at the end of its hour: rows an earlier
import wrote at a finer resolution stay in the database when the window has moved on, and they
then still agree with the new rows (sums never decrease). Rows become external statistics
``switchboard:maxsmart_<serial>_port_<n>_energy`` (and ``..._energy`` for the whole strip), in
kWh with a running sum, which the Energy dashboard accepts as a consumption source; so history
from before the integration was installed shows there.

Runs after setup and then every hour, when the recorder is loaded. Device times are local
times in Home Assistant's time zone. Each import continues the sum stored before its first
row, so repeated imports do not shift earlier history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
import logging
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ...const import DOMAIN
from .client import MaxSmartError, MaxSmartStatistics, StatisticsPeriod
from .source import MaxSmartSource

_LOGGER = logging.getLogger(__name__)

IMPORT_INTERVAL: Final = timedelta(hours=1)
_HOUR: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class EnergyRow:
    """One hourly statistics row before summing: its start (aware) and kWh in it."""

    start: datetime
    energy: float


def _add_months(month_start: date, months: int) -> date:
    index = month_start.year * 12 + month_start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _starts(stats: MaxSmartStatistics, count: int) -> list[datetime]:
    if stats.period is StatisticsPeriod.HOURLY:
        return [stats.start + timedelta(hours=i) for i in range(count)]
    if stats.period is StatisticsPeriod.DAILY:
        return [stats.start + timedelta(days=i) for i in range(count)]
    first = stats.start.date().replace(day=1)
    return [datetime.combine(_add_months(first, i), datetime.min.time()) for i in range(count)]


def merge_history(
    hourly: MaxSmartStatistics | None,
    daily: MaxSmartStatistics | None,
    monthly: MaxSmartStatistics | None,
    port_index: int,
    time_zone: tzinfo,
) -> list[EnergyRow]:
    """Merge one port's hourly, daily and monthly samples into hourly rows (kWh), oldest first.

    ``port_index`` is 0-based; ``None`` for a period the device did not return. Negative
    remainders (a device rounding differently per resolution) are dropped, never subtracted.
    """
    rows: list[tuple[datetime, float]] = []
    finer: list[tuple[datetime, float]] = []  # the next finer resolution's samples
    latest: datetime | None = None  # start of the finest resolution's last (running) period
    for stats, span in ((hourly, "hour"), (daily, "day"), (monthly, "month")):
        if stats is None or port_index >= len(stats.energy):
            continue
        values = stats.energy[port_index]
        starts = _starts(stats, len(values))
        covered_from = min((start for start, _ in finer), default=None)
        if latest is None and starts:
            latest = starts[-1]
        current: list[tuple[datetime, float]] = []
        for start, value in zip(starts, values, strict=True):
            current.append((start, value))
            end = _period_end(start, span)
            if covered_from is None or end <= covered_from:
                # The running period stays at its start: its end is in the future.
                rows.append((min(end - _HOUR, latest or start), value))
            elif start < covered_from:
                inside = sum(v for s, v in finer if start <= s < end)
                if (rest := value - inside) > 0:
                    rows.append((covered_from - _HOUR, rest))
        if current:
            finer = current
    return [
        EnergyRow(start.replace(tzinfo=time_zone), energy)
        for start, energy in sorted(rows, key=lambda row: row[0])
    ]


def _period_end(start: datetime, span: str) -> datetime:
    if span == "hour":
        return start + timedelta(hours=1)
    if span == "day":
        return start + timedelta(days=1)
    return datetime.combine(_add_months(start.date(), 1), datetime.min.time())


HISTORY_SUFFIX = "energy (strip history)"
"""How an imported statistic's name ends, beside the live sensor's "<strip> <port> energy".

The Energy dashboard offers both; the README says to pick the "(strip history)" ones, which
hold the strip's own hourly record (also from before Home Assistant knew the strip).
"""


def statistic_name(strip: str, port: str | None) -> str:
    """The imported statistic's name: ``Desk Monitor energy (strip history)``.

    Named like the port's sensors (strip, then port name) so that searching the strip's or the
    port's name finds it; ``port`` None names the strip's total.
    """
    return f"{strip} {port} {HISTORY_SUFFIX}" if port else f"{strip} {HISTORY_SUFFIX}"


def statistic_id(serial: str, port: int | None) -> str:
    """External statistic id of a port's (or, with ``None``, the strip's) energy."""
    suffix = "" if port is None else f"_port_{port}"
    return f"{DOMAIN}:maxsmart_{serial.lower()}{suffix}_energy"


async def async_import_statistics(hass: HomeAssistant, source: MaxSmartSource) -> int:
    """Read the strip's history and import it; return the number of rows written.

    Returns 0 without writing when the recorder is not loaded or the strip does not answer
    cmd 510 (single-port plugs may omit ``date``; firmware 5.x has no statistics).
    """
    if "recorder" not in hass.config.components:
        return 0
    periods: dict[StatisticsPeriod, MaxSmartStatistics | None] = {}
    for period in StatisticsPeriod:
        try:
            periods[period] = await source.client.async_get_statistics(period)
        except MaxSmartError as err:
            _LOGGER.debug("MaxSmart %s: no %s statistics: %s", source.serial, period, err)
            periods[period] = None
    if not any(periods.values()):
        return 0
    time_zone = dt_util.get_default_time_zone()
    port_count = max(len(stats.energy) for stats in periods.values() if stats is not None)
    per_port = [
        merge_history(
            periods[StatisticsPeriod.HOURLY],
            periods[StatisticsPeriod.DAILY],
            periods[StatisticsPeriod.MONTHLY],
            index,
            time_zone,
        )
        for index in range(port_count)
    ]
    # Sums continue from the stored total before the earliest period's start (not before its
    # row at the period's last hour: rows inside that period may be left from earlier imports).
    since = min(_starts(stats, 1)[0] for stats in periods.values() if stats is not None).replace(
        tzinfo=time_zone
    )
    totals: dict[datetime, float] = {}
    for rows in per_port:
        for row in rows:
            totals[row.start] = totals.get(row.start, 0.0) + row.energy
    written = 0
    name = source.descriptor.name
    ports = source.port_names
    for index, rows in enumerate(per_port):
        port = ports[index] if index < len(ports) and ports[index] else f"Port {index + 1}"
        written += await _async_write(
            hass,
            statistic_id(source.serial, index + 1),
            statistic_name(name, port),
            rows,
            since,
        )
    written += await _async_write(
        hass,
        statistic_id(source.serial, None),
        statistic_name(name, None),
        [EnergyRow(start, energy) for start, energy in sorted(totals.items())],
        since,
    )
    return written


async def _async_write(
    hass: HomeAssistant, stat_id: str, name: str, rows: Sequence[EnergyRow], since: datetime
) -> int:
    from homeassistant.components.recorder.models import (
        StatisticData,
        StatisticMeanType,
        StatisticMetaData,
    )
    from homeassistant.components.recorder.statistics import (
        async_add_external_statistics,
        statistics_during_period,
    )
    from homeassistant.helpers.recorder import get_instance

    if not rows:
        return 0
    before = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        since - timedelta(days=400),
        since,
        {stat_id},
        "hour",
        None,
        {"sum"},
    )
    previous = before.get(stat_id) or []
    total = float(previous[-1].get("sum") or 0.0) if previous else 0.0
    data: list[StatisticData] = []
    for row in rows:
        total += row.energy
        data.append(StatisticData(start=row.start, state=row.energy, sum=round(total, 6)))
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=name,
        source=DOMAIN,
        statistic_id=stat_id,
        unit_class="energy",
        unit_of_measurement="kWh",
    )
    async_add_external_statistics(hass, metadata, data)
    return len(data)


@callback
def async_setup_statistics_import(
    hass: HomeAssistant, entry: ConfigEntry, source: MaxSmartSource
) -> None:
    """Import after setup and every hour while the entry is loaded."""

    async def run(*_: object) -> None:
        written = await async_import_statistics(hass, source)
        _LOGGER.debug("MaxSmart %s: imported %s statistics rows", source.serial, written)

    entry.async_create_background_task(hass, run(), f"maxsmart statistics {source.serial}")
    entry.async_on_unload(async_track_time_interval(hass, run, IMPORT_INTERVAL))
