"""Our MaxSmart client against the emulator, over real sockets on 127.0.0.1."""

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import datetime, timedelta
import json
import time
from typing import Any

import aiohttp
import pytest
from yarl import URL

from custom_components.switchboard.vendors.maxsmart.client import (
    MaxSmartClient,
    MaxSmartCommandRejectedError,
    MaxSmartConnectionError,
    MaxSmartDeviceInfo,
    MaxSmartError,
    MaxSmartReading,
    MaxSmartResponseError,
    StatisticsPeriod,
    async_discover,
    parse_host,
)
from emulators.maxsmart import (
    MaxSmartBroadcastRelay,
    MaxSmartEmulator,
    build_emulators,
    build_parser,
    parse_device_spec,
)

from .conftest import PLUG_SERIAL, STRIP_PORT_NAMES, STRIP_SERIAL, plug_kwargs, strip_kwargs

FAULT_TIMEOUT = 0.3
SAFETY_NET = 30.0
"""Seconds after which a call that should end at ``FAULT_TIMEOUT`` is taken to hang."""


def client_for(
    session: aiohttp.ClientSession, emulator: MaxSmartEmulator, timeout: float = 2.0
) -> MaxSmartClient:
    """Return a client of ``emulator``."""
    return MaxSmartClient(session, emulator.host, emulator.http_port, timeout=timeout)


def wire_to_si(value: Any) -> float:
    """Independent reference conversion of one wire value (docs/protocols/maxsmart.md §5)."""
    if isinstance(value, str):
        return float(value)
    assert isinstance(value, int)
    return value / 1000


# --------------------------------------------------------------------- cmd 511


async def test_reading_matches_the_device(
    session: aiohttp.ClientSession, device: MaxSmartEmulator
) -> None:
    reading = await client_for(session, device).async_get_reading()

    assert isinstance(reading, MaxSmartReading)
    served = device.last_reading
    assert served is not None
    assert len(reading.switch) == len(reading.power) == len(reading.current) == device.port_count
    assert reading.switch == (True,) * device.port_count
    assert reading.power == pytest.approx([wire_to_si(v) for v in served["watt"]])
    assert reading.current == pytest.approx([wire_to_si(v) for v in served["amp"]])
    for index, load in enumerate(device.loads):
        # 2 % seeded variation around the base load, 230 V mains
        assert reading.power[index] == pytest.approx(load, rel=0.03)
        assert reading.current[index] == pytest.approx(load / 230, rel=0.03, abs=0.006)
    assert device.requests[511] == 1


async def test_watt_units_per_firmware(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator, plug: MaxSmartEmulator
) -> None:
    strip.loads[0] = 12.5
    plug.loads[0] = 2000.0
    strip_reading = await client_for(session, strip).async_get_reading()
    plug_reading = await client_for(session, plug).async_get_reading()

    assert strip.last_reading is not None
    assert plug.last_reading is not None
    strip_raw = strip.last_reading["watt"][0]
    plug_raw = plug.last_reading["watt"][0]
    # 1.30: string float watts; 2.11: integer milliwatts
    assert isinstance(strip_raw, str)
    assert strip_reading.power[0] == float(strip_raw)
    assert 12.0 < strip_reading.power[0] < 13.0
    assert isinstance(plug_raw, int)
    assert plug_reading.power[0] == plug_raw / 1000
    assert 1900.0 < plug_reading.power[0] < 2100.0
    assert isinstance(plug.last_reading["amp"][0], int)
    assert plug_reading.current[0] == plug.last_reading["amp"][0] / 1000
    assert 8.0 < plug_reading.current[0] < 9.5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"response":511,"code":200,"data":{"watt":[1.5],"amp":[0.25],"switch":[1]}}', 1.5),
        (b'{"response":511,"code":200,"data":{"watt":["7"],"amp":["0.1"],"switch":[1]}}', 7.0),
        (b'{"response":511,"code":200,"data":{"watt":[7],"amp":[100],"switch":[1]}}', 0.007),
    ],
)
async def test_watt_format_is_decided_by_value_type(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator, body: bytes, expected: float
) -> None:
    strip.faults.body = body
    reading = await client_for(session, strip).async_get_reading()
    assert reading.power == pytest.approx((expected,))
    assert reading.switch == (True,)


# --------------------------------------------------------------------- cmd 200


async def test_set_port_is_visible_on_next_reading(
    session: aiohttp.ClientSession, device: MaxSmartEmulator
) -> None:
    client = client_for(session, device)
    port = device.port_count  # last port: 6 on the strip, 1 on the plug

    await client.async_set_port(port, False)
    reading = await client.async_get_reading()
    assert reading.switch[port - 1] is False
    assert reading.power[port - 1] == 0.0
    assert reading.current[port - 1] == 0.0
    assert device.switch[port - 1] is False

    await client.async_set_port(port, True)
    reading = await client.async_get_reading()
    assert reading.switch[port - 1] is True
    assert reading.power[port - 1] > 0

    sent = [entry for entry in device.request_log if entry.cmd == 200]
    assert [entry.params for entry in sent] == [
        {"port": port, "state": 0},
        {"port": port, "state": 1},
    ]
    assert all(entry.headers.get("connection") == "close" for entry in device.request_log)


async def test_port_zero_switches_every_port(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    client = client_for(session, strip)
    await client.async_set_port(0, False)
    reading = await client.async_get_reading()
    assert reading.switch == (False,) * 6
    assert reading.power == (0.0,) * 6

    await client.async_set_port(3, True)
    await client.async_set_port(0, True)
    reading = await client.async_get_reading()
    assert reading.switch == (True,) * 6


async def test_set_port_rejected_by_device(
    session: aiohttp.ClientSession, plug: MaxSmartEmulator
) -> None:
    # A plug has one port; the device answers code 400 for port 3.
    with pytest.raises(MaxSmartCommandRejectedError) as err:
        await client_for(session, plug).async_set_port(3, False)
    assert err.value.cmd == 200
    assert err.value.code == 400
    assert plug.switch == [True]


@pytest.mark.parametrize("port", [-1, 7, 100])
async def test_set_port_validates_port_before_sending(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator, port: int
) -> None:
    with pytest.raises(ValueError, match="port"):
        await client_for(session, strip).async_set_port(port, True)
    assert sum(strip.requests.values()) == 0


# --------------------------------------------------------------------- cmd 201


async def test_rename_on_1_30(session: aiohttp.ClientSession, strip: MaxSmartEmulator) -> None:
    client = client_for(session, strip)
    await client.async_rename_port(2, "Coffee machine")
    await client.async_rename_port(0, "Kitchen")

    assert strip.port_names[1] == "Coffee machine"
    assert strip.name == "Kitchen"
    devices = await async_discover("127.0.0.1", strip.udp_port, timeout=1.0, max_devices=1)
    assert devices[0].name == "Kitchen"
    assert devices[0].port_names[1] == "Coffee machine"
    assert [entry.params for entry in strip.request_log if entry.cmd == 201] == [
        {"port": 2, "name": "Coffee machine"},
        {"port": 0, "name": "Kitchen"},
    ]


async def test_rename_rejected_on_2_11(
    session: aiohttp.ClientSession, plug: MaxSmartEmulator
) -> None:
    with pytest.raises(MaxSmartCommandRejectedError) as err:
        await client_for(session, plug).async_rename_port(1, "Toaster")
    assert err.value.cmd == 201
    assert err.value.code == 400
    assert plug.port_names == ["Kettle"]
    assert plug.requests[201] == 1


@pytest.mark.parametrize("name", ["", "x" * 22])
async def test_rename_validates_length(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator, name: str
) -> None:
    with pytest.raises(ValueError, match="characters"):
        await client_for(session, strip).async_rename_port(1, name)
    assert strip.requests[201] == 0


async def test_rename_accepts_21_characters(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    await client_for(session, strip).async_rename_port(6, "a" * 21)
    assert strip.port_names[5] == "a" * 21


# --------------------------------------------------------------------- cmd 510


FIXED_NOW = datetime(2026, 3, 15, 10, 30, 0)


@pytest.fixture(params=["strip-1.30", "plug-2.11"])
async def fixed_clock_device(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncGenerator[MaxSmartEmulator]:
    """A device whose clock stands still at FIXED_NOW, so history is reproducible."""
    kwargs = strip_kwargs() if request.param == "strip-1.30" else plug_kwargs()
    emulator = MaxSmartEmulator("127.0.0.1", **kwargs, clock=lambda: FIXED_NOW)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.mark.parametrize(
    ("period", "expected_start"),
    [
        (StatisticsPeriod.HOURLY, datetime(2026, 3, 14, 11)),
        (StatisticsPeriod.DAILY, datetime(2026, 2, 13)),
        (StatisticsPeriod.MONTHLY, datetime(2025, 4, 1)),
    ],
)
async def test_statistics(
    session: aiohttp.ClientSession,
    fixed_clock_device: MaxSmartEmulator,
    period: StatisticsPeriod,
    expected_start: datetime,
) -> None:
    emulator = fixed_clock_device
    stats = await client_for(session, emulator).async_get_statistics(period)

    assert stats.period is period
    assert stats.start == expected_start
    assert len(stats.energy) == emulator.port_count
    assert all(len(series) == period.sample_count for series in stats.energy)
    assert stats.cost == pytest.approx(0.21)
    assert stats.currency == "EUR"
    assert emulator.request_log[-1].params == {"type": period.type_code}

    raw = emulator.statistics(period.type_code)["watt"]
    for port_raw, port_energy in zip(raw, stats.energy, strict=True):
        # 1.30: string kWh; 2.11: integer Wh
        assert all(isinstance(v, str if emulator.firmware == "1.30" else int) for v in port_raw)
        assert port_energy == pytest.approx([wire_to_si(v) for v in port_raw])
    # realistic magnitudes for a base load of 5-150 W per port
    upper = {"hourly": 1.0, "daily": 5.0, "monthly": 150.0}[period]
    assert all(0 < series[0] < upper for series in stats.energy)
    assert all(0 <= value < upper for series in stats.energy for value in series)


async def test_statistics_agree_across_periods(
    session: aiohttp.ClientSession, fixed_clock_device: MaxSmartEmulator
) -> None:
    client = client_for(session, fixed_clock_device)
    hourly = await client.async_get_statistics(StatisticsPeriod.HOURLY)
    daily = await client.async_get_statistics(StatisticsPeriod.DAILY)
    monthly = await client.async_get_statistics(StatisticsPeriod.MONTHLY)
    # FIXED_NOW is 2026-03-15 10:30: today's daily value is the sum of hours 00-10 (the last 11
    # hourly samples), this month's value the sum of March 1-15 (the last 15 daily samples).
    for port in range(fixed_clock_device.port_count):
        assert daily.energy[port][-1] == pytest.approx(sum(hourly.energy[port][-11:]), abs=0.01)
        assert monthly.energy[port][-1] == pytest.approx(sum(daily.energy[port][-15:]), abs=0.01)
        assert daily.energy[port][-1] > 0


async def test_statistics_count_energy_while_running(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    moments = [datetime(2026, 3, 15, 10, 0, 0)]
    emulator = MaxSmartEmulator(
        "127.0.0.1", **strip_kwargs(), loads=[100.0] * 6, clock=lambda: moments[0]
    )
    async with emulator:
        client = client_for(session, emulator)
        await client.async_set_port(2, False)
        moments[0] = datetime(2026, 3, 15, 10, 30, 0)
        stats = await client.async_get_statistics(StatisticsPeriod.HOURLY)
    assert stats.start == datetime(2026, 3, 14, 11)
    # 100 W for half an hour = 0.05 kWh on every port that is on; port 2 is off
    assert stats.energy[0][-1] == pytest.approx(0.05)
    assert stats.energy[1][-1] == 0.0
    # the hours before the emulator started are synthesised, not zero
    assert all(value > 0 for value in stats.energy[0][:-1])


async def test_statistics_without_date(
    session: aiohttp.ClientSession, plug: MaxSmartEmulator
) -> None:
    plug.faults.omit_statistics_date = True
    with pytest.raises(MaxSmartResponseError, match="date"):
        await client_for(session, plug).async_get_statistics(StatisticsPeriod.DAILY)


# --------------------------------------------------------------------- cmd 124, 502


async def test_identifiers(session: aiohttp.ClientSession, device: MaxSmartEmulator) -> None:
    identifiers = await client_for(session, device).async_get_identifiers()
    assert identifiers["cpuid"] == device.cpuid
    assert len(identifiers["cpuid"]) == 24
    assert identifiers["server"] == "www.maxsmart.ch"
    assert identifiers["pclmac"] == device.mac.replace(":", "").replace("-", "").upper()


async def test_time(session: aiohttp.ClientSession, device: MaxSmartEmulator) -> None:
    device_time = await client_for(session, device).async_get_time()
    assert abs(device_time - device.now()) < timedelta(seconds=2)


async def test_discovery_with_set_time_sets_the_clock(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    emulator = MaxSmartEmulator(
        "127.0.0.1", **strip_kwargs(), clock=lambda: datetime(2019, 1, 1, 0, 0, 0)
    )
    async with emulator:
        client = client_for(session, emulator)
        assert (await client.async_get_time()).year == 2019
        found = await async_discover(
            "127.0.0.1", emulator.udp_port, timeout=1.0, set_time=True, max_devices=1
        )
        assert [info.serial for info in found] == [STRIP_SERIAL]
        device_time = await client.async_get_time()
    assert abs(device_time - datetime.now()) < timedelta(seconds=5)
    text, _ = emulator.discovery_requests[-1]
    assert text.startswith("00dv=all,")
    assert text.endswith(";")


# --------------------------------------------------------------------- discovery


async def test_unicast_discovery(strip: MaxSmartEmulator) -> None:
    devices = await async_discover("127.0.0.1", strip.udp_port, timeout=0.5)

    assert devices == [
        MaxSmartDeviceInfo(
            serial=STRIP_SERIAL,
            name="Desk",
            port_names=tuple(STRIP_PORT_NAMES),
            mac="bc:2b:00:00:00:01",
            firmware="1.30",
            host="127.0.0.1",
            udp_port=strip.udp_port,
        )
    ]
    assert [text for text, _ in strip.discovery_requests] == ["00dv=all;"]


async def test_unicast_discovery_of_plug_normalises_mac(plug: MaxSmartEmulator) -> None:
    devices = await async_discover("127.0.0.1", plug.udp_port, timeout=1.0, max_devices=1)
    assert len(devices) == 1
    assert devices[0].mac == "bc:2b:00:00:00:02"
    assert devices[0].firmware == "2.11"
    assert devices[0].port_names == ("Kettle",)


async def test_discovery_stops_at_max_devices(strip: MaxSmartEmulator) -> None:
    # Without stopping at the first reply it would listen 600 s: the safety net, far below
    # that, shows it stopped without measuring how fast (a loaded machine is slow).
    async with asyncio.timeout(60):
        devices = await async_discover("127.0.0.1", strip.udp_port, timeout=600.0, max_devices=1)
    assert len(devices) == 1


async def test_discovery_without_reply_returns_empty(strip: MaxSmartEmulator) -> None:
    strip.faults.udp_silent = True
    async with asyncio.timeout(SAFETY_NET):  # it ends at its timeout: it does not hang
        assert await async_discover("127.0.0.1", strip.udp_port, timeout=FAULT_TIMEOUT) == []
    assert len(strip.discovery_requests) == 1


async def test_discovery_of_stopped_device_returns_empty(strip: MaxSmartEmulator) -> None:
    await strip.stop()
    assert await async_discover("127.0.0.1", strip.udp_port, timeout=FAULT_TIMEOUT) == []


async def test_discovery_skips_malformed_datagrams(
    strip: MaxSmartEmulator, plug: MaxSmartEmulator
) -> None:
    strip.faults.udp_garbage = True
    relay = MaxSmartBroadcastRelay(port=0, host="127.0.0.1")
    relay.register(strip)
    relay.register(plug)
    async with relay:
        devices = await async_discover("127.0.0.1", relay.port, timeout=FAULT_TIMEOUT)
    # the strip's garbage is skipped, the plug's reply is kept
    assert [info.serial for info in devices] == [PLUG_SERIAL]
    assert len(strip.discovery_requests) == 1


async def test_broadcast_discovery(strip: MaxSmartEmulator, plug: MaxSmartEmulator) -> None:
    """Broadcast to 255.255.255.255 loops back to a wildcard socket on Linux (§8)."""
    twin = MaxSmartEmulator("127.0.0.1", **(strip_kwargs() | {"name": "Twin"}))
    relay = MaxSmartBroadcastRelay(port=0)
    async with twin, relay:
        for emulator in (strip, plug, twin):
            relay.register(emulator)
        try:
            devices = await async_discover("255.255.255.255", relay.port, timeout=0.5)
        except MaxSmartConnectionError as err:
            pytest.skip(f"broadcast not possible on this host: {err}")
    if relay.received == 0:
        pytest.skip("this host does not loop broadcasts back to a wildcard socket")

    # deduplicated by serial: the twin shares the strip's serial
    assert sorted(info.serial for info in devices) == sorted([STRIP_SERIAL, PLUG_SERIAL])
    by_serial = {info.serial: info for info in devices}
    assert by_serial[PLUG_SERIAL].udp_port == plug.udp_port
    assert by_serial[STRIP_SERIAL].udp_port in (strip.udp_port, twin.udp_port)
    assert all(info.host == "127.0.0.1" for info in devices)


# --------------------------------------------------------------------- faults


async def _expect_error(client: MaxSmartClient, error: type[MaxSmartError]) -> MaxSmartError:
    """The reading fails with ``error``; it ends (at the client's timeout at the latest), it
    does not hang. No upper bound on the time: a loaded machine runs timers late."""
    with pytest.raises(error) as err:
        async with asyncio.timeout(SAFETY_NET):
            await client.async_get_reading()
    return err.value


async def test_timeout(session: aiohttp.ClientSession, strip: MaxSmartEmulator) -> None:
    strip.faults.timeout = True
    client = client_for(session, strip, timeout=FAULT_TIMEOUT)
    started = time.monotonic()
    await _expect_error(client, MaxSmartConnectionError)
    assert time.monotonic() - started >= FAULT_TIMEOUT * 0.9
    assert strip.requests[511] == 1


async def test_slow_answer_within_timeout(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    strip.faults.delay = 0.1
    reading = await client_for(session, strip, timeout=1.0).async_get_reading()
    assert len(reading.switch) == 6


@pytest.mark.parametrize(
    ("fault", "value", "error"),
    [
        ("http_500", True, MaxSmartConnectionError),
        ("drop_connection", True, MaxSmartConnectionError),
        ("garbage_json", True, MaxSmartResponseError),
        ("empty_reply", True, MaxSmartResponseError),
        ("code_400", True, MaxSmartResponseError),
        ("status", 404, MaxSmartResponseError),
        ("status", 503, MaxSmartConnectionError),
    ],
)
async def test_faults(
    session: aiohttp.ClientSession,
    device: MaxSmartEmulator,
    fault: str,
    value: object,
    error: type[MaxSmartError],
) -> None:
    client = client_for(session, device, timeout=FAULT_TIMEOUT)
    setattr(device.faults, fault, value)
    await _expect_error(client, error)

    # the fault is scoped: other commands still work, then everything recovers
    device.faults.cmds = frozenset({511})
    assert (await client.async_get_identifiers())["cpuid"] == device.cpuid
    device.faults.clear()
    assert len((await client.async_get_reading()).switch) == device.port_count


async def test_action_with_code_400_is_rejected(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    strip.faults.code_400 = True
    with pytest.raises(MaxSmartCommandRejectedError):
        await client_for(session, strip).async_set_port(1, False)


async def test_offline_and_back_online(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    client = client_for(session, strip, timeout=FAULT_TIMEOUT)
    http_port, udp_port = strip.http_port, strip.udp_port
    await strip.stop()
    await _expect_error(client, MaxSmartConnectionError)

    await strip.start()
    assert (strip.http_port, strip.udp_port) == (http_port, udp_port)
    reading = await client.async_get_reading()
    assert reading.switch == (True,) * 6


async def test_stop_releases_a_hanging_request(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    strip.faults.timeout = True
    client = client_for(session, strip, timeout=5.0)
    task = asyncio.create_task(client.async_get_reading())
    while strip.requests[511] == 0:
        await asyncio.sleep(0.01)
    await strip.stop()
    with pytest.raises(MaxSmartConnectionError):
        await asyncio.wait_for(task, 2.0)


def _reply(data: str, cmd: int = 511, code: str = "200") -> bytes:
    return f'{{"response":{cmd},"code":{code},"data":{data}}}'.encode()


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"text"',
        b"\xff\xfe",
        b'{"response":511,"code":200}',
        _reply('{"watt":[1],"amp":[1],"switch":[1]}', cmd=510),
        _reply('{"watt":[1],"amp":[1],"switch":[1]}', code='"200"'),
        _reply('{"watt":[1],"amp":[1],"switch":[1]}', code="true"),
        _reply("[]"),
        _reply('{"watt":[1],"amp":[1]}'),
        _reply('{"watt":[1],"switch":[1]}'),
        _reply('{"watt":1,"amp":[1],"switch":[1]}'),
        _reply('{"watt":[1,2],"amp":[1],"switch":[1]}'),
        _reply('{"watt":[],"amp":[],"switch":[]}'),
        _reply('{"watt":["abc"],"amp":[1],"switch":[1]}'),
        _reply('{"watt":["nan"],"amp":[1],"switch":[1]}'),
        _reply('{"watt":[true],"amp":[1],"switch":[1]}'),
        _reply('{"watt":[null],"amp":[1],"switch":[1]}'),
        _reply('{"watt":[{}],"amp":[1],"switch":[1]}'),
        _reply('{"watt":[1],"amp":[1],"switch":[2]}'),
        _reply('{"watt":[1],"amp":[1],"switch":["1"]}'),
        b"[" * 100000,
    ],
)
async def test_malformed_readings(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator, body: bytes
) -> None:
    strip.faults.body = body
    with pytest.raises(MaxSmartResponseError):
        await client_for(session, strip).async_get_reading()


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.HOURLY),
            _reply('{"type":0,"date":"2026-03-15","watt":[["1"]]}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.HOURLY),
            _reply('{"type":1,"date":"2026-03-15-10","watt":[["1"]]}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.DAILY),
            _reply('{"date":"2026-03-15","watt":[]}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.DAILY),
            _reply('{"date":"2026-03-15","watt":["1"]}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.DAILY),
            _reply('{"date":"2026-03-15","watt":[["x"]]}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.DAILY),
            _reply('{"date":"2026-03-15","watt":[["1"]],"cost":"free"}', cmd=510),
        ),
        (
            lambda c: c.async_get_statistics(StatisticsPeriod.MONTHLY),
            _reply('{"date":202603,"watt":[["1"]]}', cmd=510),
        ),
        (lambda c: c.async_get_time(), _reply('{"time":"yesterday"}', cmd=502)),
        (lambda c: c.async_get_time(), _reply("{}", cmd=502)),
        (lambda c: c.async_get_identifiers(), _reply('{"cpuid":"","server":"x"}', cmd=124)),
        (lambda c: c.async_get_identifiers(), _reply('{"server":"x"}', cmd=124)),
    ],
)
async def test_malformed_other_replies(
    session: aiohttp.ClientSession,
    strip: MaxSmartEmulator,
    call: Callable[[MaxSmartClient], Any],
    body: bytes,
) -> None:
    strip.faults.body = body
    with pytest.raises(MaxSmartResponseError):
        await call(client_for(session, strip))


async def test_statistics_accept_float_values_and_missing_cost(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    strip.faults.body = _reply('{"date":"2026-03","watt":[[1.5, 2500]],"money":9}', cmd=510)
    stats = await client_for(session, strip).async_get_statistics(StatisticsPeriod.MONTHLY)
    assert stats.start == datetime(2026, 3, 1)
    assert stats.energy == ((1.5, 2.5),)
    assert stats.cost is None
    assert stats.currency is None


async def test_connection_refused(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    emulator = MaxSmartEmulator("127.0.0.1")
    async with emulator:
        port = emulator.http_port
    client = MaxSmartClient(session, "127.0.0.1", port, timeout=FAULT_TIMEOUT)
    with pytest.raises(MaxSmartConnectionError):
        await client.async_set_port(1, True)


# --------------------------------------------------------------------- parse_host


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("192.168.1.50", ("192.168.1.50", 80)),
        (" 192.168.1.50 ", ("192.168.1.50", 80)),
        ("192.168.1.50:8080", ("192.168.1.50", 8080)),
        ("127.0.0.1:1", ("127.0.0.1", 1)),
        ("strip.local", ("strip.local", 80)),
        ("strip-1.lan:81", ("strip-1.lan", 81)),
        ("maxsmart", ("maxsmart", 80)),
        ("[::1]:8080", ("::1", 8080)),
        ("[fe80::1]", ("fe80::1", 80)),
        ("::1", ("::1", 80)),
        ("fd00::2", ("fd00::2", 80)),
    ],
)
def test_parse_host(value: str, expected: tuple[str, int]) -> None:
    assert parse_host(value) == expected


def test_parse_host_default_port() -> None:
    assert parse_host("10.0.0.1", default_port=8888) == ("10.0.0.1", 8888)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "http://192.168.1.50",
        "192.168.1.50/",
        "192.168.1.50:",
        "192.168.1.50:0",
        "192.168.1.50:65536",
        "192.168.1.50:http",
        "192.168.1.500",
        "1.2.3",
        "[::1",
        "[::1]x",
        "[not-ipv6]:80",
        "::g",
        "bad host",
        "-strip.local",
        "strip..local",
        "a" * 64 + ".local",
        ":80",
    ],
)
def test_parse_host_rejects_junk(value: str) -> None:
    with pytest.raises(ValueError):
        parse_host(value)


# --------------------------------------------------------------------- emulator wire details


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("/?cmd=999", 200, {"response": 999, "code": 400}),
        ("/?cmd=200&json=not-json", 200, {"response": 200, "code": 400}),
        ("/?cmd=200&json=%7B%22port%22:9,%22state%22:1%7D", 200, {"response": 200, "code": 400}),
        ("/?cmd=200&json=%7B%22port%22:1,%22state%22:0%7D", 200, {"response": 200, "code": 200}),
        (
            "/?cmd=205&json=%7B%22cost%22:%220.30%22,%22money%22:3%7D",
            200,
            {"response": 205, "code": 200},
        ),
        ("/?cmd=513", 200, {"response": 513, "code": 200, "data": {"switch": [0, 1, 1, 1, 1, 1]}}),
        ("/?cmd=512", 200, {"response": 512, "code": 200, "data": {"master": [2] * 6, "limit": 0}}),
        ("/other?cmd=511", 404, None),
    ],
)
async def test_emulator_wire_format(
    session: aiohttp.ClientSession,
    strip: MaxSmartEmulator,
    query: str,
    status: int,
    expected: dict[str, Any] | None,
) -> None:
    """Raw requests as maxsmart writes them (percent-encoded braces/quotes, bare ':' and ',')."""
    if "513" in query:
        await client_for(session, strip).async_set_port(1, False)
    url = f"http://127.0.0.1:{strip.http_port}{query}"
    async with session.get(URL(url, encoded=True)) as response:
        assert response.status == status
        assert response.headers["Content-Type"] == "text/plain"
        body = await response.text()
    if expected is not None:
        assert json.loads(body) == expected


async def test_emulator_cost_setting_reaches_statistics(
    session: aiohttp.ClientSession, strip: MaxSmartEmulator
) -> None:
    url = f"http://127.0.0.1:{strip.http_port}/?cmd=205&json=%7B%22cost%22:%220.30%22,%22money%22:3%7D"
    async with session.get(URL(url, encoded=True)) as response:
        assert json.loads(await response.text())["code"] == 200
    stats = await client_for(session, strip).async_get_statistics(StatisticsPeriod.DAILY)
    assert stats.cost == pytest.approx(0.30)
    assert stats.currency == "CHF"


def test_cli_device_specs() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "--http-port",
            "8080",
            "--device",
            "host=127.0.0.2,name=Desk,names=A|B|C|D|E|F",
            "--device",
            "host=127.0.0.3,ports=1,firmware=2.11,serial=SPL1X,udp_port=9999",
            "--broadcast",
            "8888",
        ]
    )
    first, second = build_emulators(args)
    assert (first.host, first.http_port, first.udp_port) == ("127.0.0.2", 8080, 8888)
    assert first.port_names == ["A", "B", "C", "D", "E", "F"]
    assert first.name == "Desk"
    assert (second.host, second.port_count, second.firmware) == ("127.0.0.3", 1, "2.11")
    assert (second.serial, second.udp_port, second.name) == ("SPL1X", 9999, "PLUG")
    assert second.uses_milli_units
    assert first.serial != second.serial
    assert args.broadcast == 8888
    with pytest.raises(ValueError, match="bad device spec"):
        parse_device_spec("colour=red")
