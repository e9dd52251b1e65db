"""The strip's own energy history (cmd 510) imported into long-term statistics.

The emulator's clock follows Home Assistant's local time (a strip whose clock was set by a
dated discovery datagram), and time is frozen in June, away from daylight saving changes in
the 24-hour window.
"""

from collections.abc import AsyncGenerator, Generator
from datetime import datetime, timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_metadata,
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.switchboard.vendors.maxsmart.client import (
    MaxSmartClient,
    MaxSmartStatistics,
    StatisticsPeriod,
)
from custom_components.switchboard.vendors.maxsmart.source import MaxSmartSource
from custom_components.switchboard.vendors.maxsmart.statistics import (
    async_import_statistics,
    merge_history,
    statistic_id,
)
from emulators.maxsmart import MaxSmartEmulator

from .conftest import strip_kwargs
from .integration import setup_entry

NOW = "2026-06-15 21:20:00+00:00"
"""14:20 in US/Pacific (the test time zone), mid-June."""


@pytest.fixture
def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> Generator[None]:
    """Prepare the recorder's database before ``hass`` (the autouse fixtures create it early).

    Its SQL stays out of the log: pytest-homeassistant-custom-component sets the
    ``sqlalchemy.engine`` logger to INFO, which logs every statement (some 33,000 lines for
    these tests); at WARNING its warnings and errors still show.
    """
    engine_logger = logging.getLogger("sqlalchemy.engine")
    level = engine_logger.level
    engine_logger.setLevel(logging.WARNING)
    yield
    engine_logger.setLevel(level)


@pytest.fixture
async def strip(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
) -> AsyncGenerator[MaxSmartEmulator]:
    """The 6-port strip with its clock on Home Assistant's local time, started at NOW."""
    freezer.move_to(NOW)
    emulator = MaxSmartEmulator(
        "127.0.0.1", clock=lambda: dt_util.now().replace(tzinfo=None), **strip_kwargs()
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _rows(hass: HomeAssistant, stat_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every hourly row of ``stat_ids`` (start as aware local datetime, state, sum)."""
    result = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.utc_from_timestamp(0),
        None,
        stat_ids,
        "hour",
        None,
        {"state", "sum"},
    )
    return {
        stat_id: [
            {
                "start": dt_util.as_local(dt_util.utc_from_timestamp(row["start"])),
                "state": row["state"],
                "sum": row["sum"],
            }
            for row in rows
        ]
        for stat_id, rows in result.items()
    }


async def _history(
    hass: HomeAssistant, emulator: MaxSmartEmulator
) -> dict[StatisticsPeriod, MaxSmartStatistics]:
    """The strip's cmd 510 replies for every period, read through our client."""
    client = MaxSmartClient(async_get_clientsession(hass), emulator.host, emulator.http_port)
    return {period: await client.async_get_statistics(period) for period in StatisticsPeriod}


def _local(naive: datetime) -> datetime:
    return naive.replace(tzinfo=dt_util.get_default_time_zone())


def _expected_total(history: dict[StatisticsPeriod, MaxSmartStatistics], index: int) -> float:
    """Monthly before the daily window + daily before the hourly window + hourly (kWh).

    A month (day) partly inside the daily (hourly) window contributes only what the finer
    samples inside it do not cover.
    """
    hourly = history[StatisticsPeriod.HOURLY]
    daily = history[StatisticsPeriod.DAILY]
    monthly = history[StatisticsPeriod.MONTHLY]
    hours = [
        (hourly.start + timedelta(hours=i), value) for i, value in enumerate(hourly.energy[index])
    ]
    days = [(daily.start + timedelta(days=i), value) for i, value in enumerate(daily.energy[index])]
    total = sum(value for _, value in hours)
    for day, value in days:
        if day < hourly.start:
            inside = sum(v for hour, v in hours if day <= hour < day + timedelta(days=1))
            total += max(value - inside, 0.0)
    year, month = monthly.start.year, monthly.start.month
    for value in monthly.energy[index]:
        first = datetime(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        following = datetime(year, month, 1)
        if first < daily.start:
            inside = sum(v for day, v in days if first <= day < following)
            total += max(value - inside, 0.0)
    return total


async def test_import_creates_energy_statistics(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Setup imports every port and the strip total as kWh sums the Energy dashboard accepts."""
    entry = await setup_entry(hass, strip)
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED

    ports = [statistic_id(strip.serial, port) for port in range(1, 7)]
    total = statistic_id(strip.serial, None)
    assert ports[0] == f"switchboard:maxsmart_{strip.serial.lower()}_port_1_energy"
    assert total == f"switchboard:maxsmart_{strip.serial.lower()}_energy"

    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids={*ports, total})
    )
    assert set(metadata) == {*ports, total}
    for _, meta in metadata.values():
        assert meta["source"] == "switchboard"
        assert meta["has_sum"] is True
        assert meta["unit_of_measurement"] == "kWh"
        assert meta["unit_class"] == "energy"
        assert meta["mean_type"] == 0  # StatisticMeanType.NONE
        assert str(meta["name"]).startswith("Desk")
    # Named like the port's sensors, so searching the strip or port name finds it (issue 12).
    assert metadata[ports[2]][1]["name"] == "Desk Router energy (strip history)"
    assert metadata[total][1]["name"] == "Desk energy (strip history)"

    listed = await get_instance(hass).async_add_executor_job(
        lambda: list_statistic_ids(hass, statistic_type="sum")
    )
    by_id = {item["statistic_id"]: item for item in listed}
    assert by_id[total]["statistics_unit_of_measurement"] == "kWh"
    assert by_id[total]["source"] == "switchboard"


async def test_energy_dashboard_accepts_imported_statistics(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """The Energy dashboard's own validation finds nothing wrong with the imported ids."""
    from homeassistant.components.energy import data as energy_data
    from homeassistant.components.energy.validate import async_validate

    await setup_entry(hass, strip)
    await _settle(hass)
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "device_consumption": [
                {"stat_consumption": statistic_id(strip.serial, port)} for port in (1, 2)
            ]
            + [{"stat_consumption": statistic_id(strip.serial, None)}]
        }
    )
    validation = await async_validate(hass)
    assert validation.as_dict()["device_consumption"] == [[], [], []]

    # The same validation flags an id that was never imported: the check is live.
    await manager.async_update(
        {"device_consumption": [{"stat_consumption": "switchboard:maxsmart_nope_energy"}]}
    )
    validation = await async_validate(hass)
    issues = validation.as_dict()["device_consumption"][0]
    assert [issue["type"] for issue in issues] == ["statistics_not_defined"]


async def test_hourly_rows_match_device_samples(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """The last 24 hours are imported hour by hour, equal to the device's hourly samples."""
    await setup_entry(hass, strip)
    await _settle(hass)
    history = await _history(hass, strip)
    hourly = history[StatisticsPeriod.HOURLY]
    assert len(hourly.energy[0]) == 24
    window = [_local(hourly.start + timedelta(hours=i)) for i in range(24)]
    assert window[-1] == dt_util.now().replace(minute=0, second=0, microsecond=0)

    ids = {statistic_id(strip.serial, port): port for port in range(1, 7)}
    rows = await _rows(hass, set(ids))
    for stat_id, port in ids.items():
        recent = {row["start"]: row["state"] for row in rows[stat_id] if row["start"] >= window[0]}
        assert list(recent) == window, stat_id
        assert list(recent.values()) == pytest.approx(list(hourly.energy[port - 1]), abs=1e-6)
        # A synthesised hour of a port that is on is never empty.
        assert all(value > 0 for value in list(recent.values())[:-1])


async def test_no_double_counting(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """The imported total per port is months + day remainders + hours, counted once."""
    await setup_entry(hass, strip)
    await _settle(hass)
    history = await _history(hass, strip)
    ids = [statistic_id(strip.serial, port) for port in range(1, 7)]
    total_id = statistic_id(strip.serial, None)
    rows = await _rows(hass, {*ids, total_id})

    port_totals = []
    for index, stat_id in enumerate(ids):
        imported = sum(row["state"] for row in rows[stat_id])
        assert rows[stat_id][-1]["sum"] == pytest.approx(imported, abs=1e-5)
        expected = _expected_total(history, index)
        assert imported == pytest.approx(expected, abs=1e-5)
        # Cross-check without any merging: the device's series agree with each other, so the
        # total equals the twelve monthly samples up to their rounding (1 Wh each).
        months = sum(history[StatisticsPeriod.MONTHLY].energy[index])
        assert imported == pytest.approx(months, abs=0.05)
        # Counting the daily window twice would add at least a whole month of this port.
        assert months > 20 * min(history[StatisticsPeriod.DAILY].energy[index])
        port_totals.append(imported)

    # The strip total is the sum of the ports, hour by hour.
    assert rows[total_id][-1]["sum"] == pytest.approx(sum(port_totals), abs=1e-4)
    starts = {row["start"] for stat_id in ids for row in rows[stat_id]}
    assert {row["start"] for row in rows[total_id]} == starts


async def test_second_import_keeps_earlier_sums(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Importing again (same hour) writes the same rows and sums, nothing is added twice."""
    entry = await setup_entry(hass, strip)
    await _settle(hass)
    ids = {statistic_id(strip.serial, port) for port in range(1, 7)}
    ids.add(statistic_id(strip.serial, None))
    before = await _rows(hass, ids)

    source = entry.runtime_data.runtime.coordinators[strip.serial].source
    assert isinstance(source, MaxSmartSource)
    written = await async_import_statistics(hass, source)
    await _settle(hass)
    assert written == sum(len(rows) for rows in before.values())
    assert await _rows(hass, ids) == before


async def test_hourly_imports_keep_sums_consistent(
    hass: HomeAssistant, strip: MaxSmartEmulator, freezer: FrozenDateTimeFactory
) -> None:
    """Hourly re-imports as the window slides: no earlier sum changes, sums never decrease.

    Rows written by an earlier import stay in the database when a later import covers the same
    hours with coarser rows, so every row must hold the true running total at its hour.
    """
    await setup_entry(hass, strip)
    await _settle(hass)
    ids = {statistic_id(strip.serial, port) for port in range(1, 7)}
    ids.add(statistic_id(strip.serial, None))
    first = await _rows(hass, ids)
    requests = strip.requests[510]

    for hour in range(1, 4):
        freezer.tick(timedelta(hours=1))
        async_fire_time_changed(hass)
        await _settle(hass)
        # Three cmd 510 per import: hourly, daily, monthly.
        assert strip.requests[510] == requests + 3 * hour

    current_hour = dt_util.now().replace(minute=0, second=0, microsecond=0)
    first_import_hour = current_hour - timedelta(hours=3)
    later = await _rows(hass, ids)
    for stat_id in ids:
        sums = {row["start"]: row["sum"] for row in later[stat_id]}
        # Earlier rows (before the first import's still-running hour) keep their sums.
        for row in first[stat_id]:
            if row["start"] < first_import_hour:
                assert sums[row["start"]] == pytest.approx(row["sum"], abs=1e-6), (
                    stat_id,
                    row["start"],
                )
        # The Energy dashboard shows sum differences: they must never be negative.
        ordered = [sums[start] for start in sorted(sums)]
        drops = [
            (start, b - a)
            for start, a, b in zip(sorted(sums)[1:], ordered[:-1], ordered[1:], strict=True)
            if b < a - 1e-6
        ]
        assert drops == [], stat_id

    # Three more hours of the strip's load were measured and imported.
    port_1 = statistic_id(strip.serial, 1)
    gained = later[port_1][-1]["sum"] - first[port_1][-1]["sum"]
    assert gained == pytest.approx(strip.loads[0] * 3 / 1000, rel=0.02)


async def test_strip_without_statistics_imports_nothing(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """cmd 510 failing does not break setup; nothing is imported."""
    strip.faults.http_500 = True
    strip.faults.cmds = frozenset({510})
    entry = await setup_entry(hass, strip)
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("switch.desk_tv").state == STATE_ON
    assert strip.requests[510] == 3
    listed = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    assert not [item for item in listed if item["source"] == "switchboard"]


async def test_statistics_without_date_import_nothing(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """A reply without ``date`` (some plugs) is skipped like a failure."""
    strip.faults.omit_statistics_date = True
    entry = await setup_entry(hass, strip)
    await _settle(hass)
    assert entry.state is ConfigEntryState.LOADED
    source = entry.runtime_data.runtime.coordinators[strip.serial].source
    assert isinstance(source, MaxSmartSource)
    assert await async_import_statistics(hass, source) == 0
    listed = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    assert not [item for item in listed if item["source"] == "switchboard"]


async def test_energy_store_restores_and_saves(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """The integrated energy continues from the store and is saved a minute after it grew."""
    key = f"switchboard.maxsmart_energy_{strip.serial}"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"energy": [1.5, 0.0, 0.0, 0.0, 0.0, 2.25]},
    }
    await setup_entry(hass, strip)
    assert float(hass.states.get("sensor.desk_tv_energy").state) == 1.5
    assert float(hass.states.get("sensor.desk_spare_energy").state) == 2.25
    assert float(hass.states.get("sensor.desk_energy").state) == 3.75

    async def tick(times: int) -> None:
        for _ in range(times):
            freezer.tick(timedelta(seconds=5))
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)

    def shown() -> float:
        return float(hass.states.get("sensor.desk_tv_energy").state)

    await tick(11)  # 55 s of polling: grown, not saved yet
    at_55 = shown()
    assert at_55 == pytest.approx(1.5 + strip.loads[0] * 55 / 3600 / 1000, abs=2e-4)
    assert hass_storage[key]["data"]["energy"][0] == 1.5

    await tick(2)  # written 60 s after the first growth (at 5 s), while polling goes on
    first_save = hass_storage[key]["data"]["energy"]
    assert len(first_save) == 6
    assert at_55 < first_save[0] <= shown() + 1e-4
    assert first_save[5] > 2.25

    await tick(13)  # and again a minute later: polling every 5 s does not postpone it
    assert hass_storage[key]["data"]["energy"][0] > first_save[0]


# --------------------------------------------------------------------- merge_history


def _stats(period: StatisticsPeriod, start: datetime, *series: list[float]) -> MaxSmartStatistics:
    return MaxSmartStatistics(
        period=period,
        start=start,
        energy=tuple(tuple(values) for values in series),
        cost=None,
        currency=None,
    )


def _naive_rows(rows: list[Any]) -> list[tuple[datetime, float]]:
    return [(row.start.replace(tzinfo=None), pytest.approx(row.energy)) for row in rows]


UTC = dt_util.UTC


def test_merge_nothing() -> None:
    """No period answered: no rows."""
    assert merge_history(None, None, None, 0, UTC) == []


def test_merge_hourly_only_attaches_time_zone() -> None:
    """Hourly samples become rows at their hour, in the given (device-local) time zone."""
    zone = dt_util.get_time_zone("Europe/Zurich")
    assert zone is not None
    hourly = _stats(StatisticsPeriod.HOURLY, datetime(2026, 6, 15, 22), [0.5, 0.0, 0.25])
    rows = merge_history(hourly, None, None, 0, zone)
    assert [row.start for row in rows] == [
        datetime(2026, 6, 15, 22, tzinfo=zone),
        datetime(2026, 6, 15, 23, tzinfo=zone),
        datetime(2026, 6, 16, 0, tzinfo=zone),
    ]
    assert [row.energy for row in rows] == [0.5, 0.0, 0.25]


def test_merge_day_remainder_and_full_days() -> None:
    """Full days sit at their last hour; a partly covered day adds only its remainder."""
    hourly = _stats(StatisticsPeriod.HOURLY, datetime(2026, 6, 14, 22), [1.0, 1.0, 1.0, 1.0])
    daily = _stats(StatisticsPeriod.DAILY, datetime(2026, 6, 13), [10.0, 5.0, 3.0])
    rows = merge_history(hourly, daily, None, 0, UTC)
    assert _naive_rows(rows) == [
        (datetime(2026, 6, 13, 23), 10.0),  # 13 June, whole day
        (datetime(2026, 6, 14, 21), 3.0),  # 14 June before 22:00: 5 - 2
        (datetime(2026, 6, 14, 22), 1.0),
        (datetime(2026, 6, 14, 23), 1.0),
        (datetime(2026, 6, 15, 0), 1.0),  # 15 June is covered by hours only
        (datetime(2026, 6, 15, 1), 1.0),
    ]


def test_merge_negative_remainder_is_dropped() -> None:
    """A day reported smaller than its hours (rounding) adds nothing and subtracts nothing."""
    hourly = _stats(StatisticsPeriod.HOURLY, datetime(2026, 6, 14, 22), [1.0, 1.0, 0.5])
    daily = _stats(StatisticsPeriod.DAILY, datetime(2026, 6, 13), [4.0, 1.5, 0.5])
    rows = merge_history(hourly, daily, None, 0, UTC)
    assert all(row.energy >= 0 for row in rows)
    assert _naive_rows(rows) == [
        (datetime(2026, 6, 13, 23), 4.0),
        (datetime(2026, 6, 14, 22), 1.0),
        (datetime(2026, 6, 14, 23), 1.0),
        (datetime(2026, 6, 15, 0), 0.5),
    ]
    # An exactly covered remainder (0) adds no row either.
    daily = _stats(StatisticsPeriod.DAILY, datetime(2026, 6, 14), [2.0, 0.5])
    assert len(merge_history(hourly, daily, None, 0, UTC)) == 3


def test_merge_months_around_the_daily_window() -> None:
    """Months before the daily window at their last hour (across a year end); the month the
    window starts in adds its remainder; months inside the window are left to the days."""
    daily = _stats(StatisticsPeriod.DAILY, datetime(2026, 2, 27), [1.0, 2.0, 3.0, 4.0])
    monthly = _stats(StatisticsPeriod.MONTHLY, datetime(2025, 12, 1), [31.0, 40.0, 30.0, 9.0])
    rows = merge_history(None, daily, monthly, 0, UTC)
    assert _naive_rows(rows) == [
        (datetime(2025, 12, 31, 23), 31.0),
        (datetime(2026, 1, 31, 23), 40.0),
        (datetime(2026, 2, 26, 23), 27.0),  # February before the 27th: 30 - 1 - 2
        (datetime(2026, 2, 27, 23), 1.0),
        (datetime(2026, 2, 28, 23), 2.0),
        (datetime(2026, 3, 1, 23), 3.0),
        (datetime(2026, 3, 2, 0), 4.0),  # the running day stays at its start, not in the future
    ]


def test_merge_missing_daily_uses_hours_for_the_month() -> None:
    """Without daily samples the month's remainder is taken against the hourly ones."""
    hourly = _stats(StatisticsPeriod.HOURLY, datetime(2026, 6, 30, 23), [1.0, 2.0])
    monthly = _stats(StatisticsPeriod.MONTHLY, datetime(2026, 5, 1), [50.0, 60.0, 7.0])
    rows = merge_history(hourly, None, monthly, 0, UTC)
    assert _naive_rows(rows) == [
        (datetime(2026, 5, 31, 23), 50.0),
        (datetime(2026, 6, 30, 22), 59.0),  # June before 23:00: 60 - 1
        (datetime(2026, 6, 30, 23), 1.0),
        (datetime(2026, 7, 1, 0), 2.0),
    ]


def test_merge_running_month_only() -> None:
    """Only monthly samples: the running month sits at its start."""
    monthly = _stats(StatisticsPeriod.MONTHLY, datetime(2026, 5, 1), [50.0, 6.0])
    assert _naive_rows(merge_history(None, None, monthly, 0, UTC)) == [
        (datetime(2026, 5, 31, 23), 50.0),
        (datetime(2026, 6, 1, 0), 6.0),
    ]


def test_merge_port_without_series_at_some_resolution() -> None:
    """A port missing from one resolution's reply is merged from the others."""
    hourly = _stats(StatisticsPeriod.HOURLY, datetime(2026, 6, 14, 22), [1.0, 1.0], [2.0, 2.0])
    daily = _stats(StatisticsPeriod.DAILY, datetime(2026, 6, 13), [10.0, 5.0, 2.0])
    rows = merge_history(hourly, daily, None, 1, UTC)
    assert _naive_rows(rows) == [(datetime(2026, 6, 14, 22), 2.0), (datetime(2026, 6, 14, 23), 2.0)]
    assert merge_history(hourly, daily, None, 2, UTC) == []


def _consistent_history(
    now: datetime,
) -> tuple[dict[StatisticsPeriod, MaxSmartStatistics], dict[datetime, float]]:
    """Hourly (24) / daily (31) / monthly (12) samples of one port, all from one hourly truth."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    # The first of the 12 months ending with this one.
    first_month = (
        datetime(hour.year, 1, 1)
        if hour.month == 12
        else datetime(hour.year - 1, hour.month + 1, 1)
    )
    truth: dict[datetime, float] = {}
    slot = first_month
    while slot <= hour:
        truth[slot] = 0.05 + (slot.hour * 7 + slot.day) % 11 * 0.01
        slot += timedelta(hours=1)
    hourly_start = hour - timedelta(hours=23)
    daily_start = hour.replace(hour=0) - timedelta(days=30)
    months = [first_month]
    while len(months) < 12:
        last = months[-1]
        months.append(datetime(last.year + last.month // 12, last.month % 12 + 1, 1))
    month_ends = [*months[1:], datetime.max]

    def between(start: datetime, end: datetime) -> float:
        return sum(value for slot, value in truth.items() if start <= slot < end)

    history = {
        StatisticsPeriod.HOURLY: _stats(
            StatisticsPeriod.HOURLY,
            hourly_start,
            [truth[hourly_start + timedelta(hours=i)] for i in range(24)],
        ),
        StatisticsPeriod.DAILY: _stats(
            StatisticsPeriod.DAILY,
            daily_start,
            [
                between(daily_start + timedelta(days=i), daily_start + timedelta(days=i + 1))
                for i in range(31)
            ],
        ),
        StatisticsPeriod.MONTHLY: _stats(
            StatisticsPeriod.MONTHLY,
            first_month,
            [between(start, end) for start, end in zip(months, month_ends, strict=True)],
        ),
    }
    return history, truth


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 6, 15, 14, 20), datetime(2026, 3, 1, 0, 5), datetime(2026, 12, 31, 23, 59)],
)
def test_merge_rows_hold_running_totals(now: datetime) -> None:
    """Every row's running sum is the true total at the end of its hour, so the rows of an
    import an hour (or a month) later never contradict rows written earlier."""
    history, truth = _consistent_history(now)
    rows = merge_history(
        history[StatisticsPeriod.HOURLY],
        history[StatisticsPeriod.DAILY],
        history[StatisticsPeriod.MONTHLY],
        0,
        UTC,
    )
    assert sum(row.energy for row in rows) == pytest.approx(sum(truth.values()))
    assert [row.start for row in rows] == sorted({row.start for row in rows})
    running = 0.0
    for row in rows:
        running += row.energy
        end = row.start.replace(tzinfo=None) + timedelta(hours=1)
        true_total = sum(value for slot, value in truth.items() if slot < end)
        assert running == pytest.approx(true_total), row.start
