"""Fidelity: ``maxsmart`` 2.1.0 against our emulator (docs/protocols/maxsmart.md §6, §7).

maxsmart hard-codes HTTP port 80 and UDP port 8888, so the emulator binds 127.0.0.1:80 and
UDP 127.0.0.1:8888. Without the privilege to bind port 80, or with the ports taken, the test
is skipped.
"""

from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
import errno
from typing import Any

from maxsmart import MaxSmartDevice, MaxSmartDiscovery
from maxsmart.exceptions import CommandError
import pytest

from emulators.maxsmart import MaxSmartEmulator

from .conftest import plug_kwargs, strip_kwargs

HOST = "127.0.0.1"

# maxsmart's own TCPConnector(enable_cleanup_closed=True) warns on Python >= 3.12.
pytestmark = [
    pytest.mark.emulator,
    pytest.mark.filterwarnings("ignore:enable_cleanup_closed ignored:DeprecationWarning"),
]


def wire_to_si(value: Any) -> float:
    """Reference conversion of one wire value: string = W or kWh, int = mW or Wh."""
    return float(value) if isinstance(value, str) else value / 1000


@pytest.fixture(params=["strip-1.30", "plug-2.11"])
async def device_on_real_ports(
    request: pytest.FixtureRequest, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncGenerator[MaxSmartEmulator]:
    """An emulator on 127.0.0.1:80 / UDP 8888 with maxsmart's retries and waits shortened."""
    monkeypatch.setenv("UDP_TIMEOUT", "1")
    monkeypatch.setattr(MaxSmartDevice, "RETRY_COUNT", 0)
    monkeypatch.setattr(MaxSmartDevice, "DEFAULT_TIMEOUT", 3.0)
    kwargs = strip_kwargs() if request.param == "strip-1.30" else plug_kwargs()
    emulator = MaxSmartEmulator(HOST, 80, 8888, **kwargs)
    try:
        await emulator.start()
    except PermissionError as err:
        pytest.skip(f"cannot bind {HOST}:80 / UDP 8888 (needs root or CAP_NET_BIND_SERVICE): {err}")
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        pytest.skip(f"{HOST}:80 or UDP 8888 already in use: {err}")
    yield emulator
    await emulator.stop()


async def test_maxsmart_library_against_emulator(device_on_real_ports: MaxSmartEmulator) -> None:
    emulator = device_on_real_ports
    count = emulator.port_count
    milli = emulator.firmware != "1.30"

    # --- discovery (unicast UDP 8888, then the HTTP probe on port 80)
    found = await MaxSmartDiscovery.discover_maxsmart(ip=HOST, timeout=1.0, max_attempts=1)
    assert len(found) == 1
    info = found[0]
    assert info["sn"] == emulator.serial
    assert info["name"] == emulator.name
    assert info["pname"] == emulator.port_names
    assert info["ip"] == HOST
    assert info["ver"] == emulator.firmware
    assert info["protocol"] == "http"
    assert info["nr_of_ports"] == count
    # maxsmart sends the dated form, which sets the device clock
    assert emulator.discovery_requests[0][0].startswith("00dv=all,")

    device = MaxSmartDevice(HOST, protocol="http", sn=info["sn"])
    try:
        await device.initialize_device()
        assert device._watt_format == ("int_milliwatt" if milli else "float_watt")
        # port names come from the literal "00dv=all,{datetime};" template datagram
        assert any(text == "00dv=all,{datetime};" for text, _ in emulator.discovery_requests)
        assert device.strip_name == emulator.name
        assert device.port_names == emulator.port_names

        # --- power in both watt formats
        data = await device.get_data()
        assert emulator.last_reading is not None
        raw = emulator.last_reading["watt"]
        assert all(isinstance(value, int if milli else str) for value in raw)
        assert data["switch"] == [1] * count
        assert data["watt"] == pytest.approx([wire_to_si(value) for value in raw])
        assert data["watt"] == pytest.approx(emulator.loads, rel=0.03)

        # --- switching: maxsmart's verification polls (cmd 511) must pass
        port = count
        await device.turn_off(port)
        assert emulator.switch[port - 1] is False
        assert await device.check_state(port) == 0
        assert (await device.get_power_data(port))["watt"] == 0.0
        await device.turn_on(port)
        assert emulator.switch[port - 1] is True
        assert await device.check_state(port) == 1
        await device.turn_off(0)
        assert await device.check_state() == [0] * count
        await device.turn_on(0)
        assert await device.check_state() == [1] * count
        sent = [entry.params for entry in emulator.request_log if entry.cmd == 200]
        assert sent == [
            {"port": port, "state": 0},
            {"port": port, "state": 1},
            {"port": 0, "state": 0},
            {"port": 0, "state": 1},
        ]
        assert any(
            entry.headers.get("user-agent") == "MaxSmart-Python/2.1.0"
            for entry in emulator.request_log
        )

        # --- identifiers and clock
        identifiers = await device.get_device_identifiers()
        assert identifiers == {"cpuid": emulator.cpuid, "server": "www.maxsmart.ch"}
        device_time = await device.get_device_time()
        reported = datetime.strptime(device_time["time"], "%Y-%m-%d,%H:%M:%S")
        assert abs(reported - emulator.now()) < timedelta(seconds=2)

        # --- statistics and renaming need version "1.30" (§6)
        device.version = "1.30"
        for stat_type, samples, label in ((0, 24, "Hourly"), (1, 31, "Daily"), (2, 12, "Monthly")):
            stats = await device.get_statistics(1, stat_type)
            reference = emulator.statistics(stat_type)
            assert stats["type"] == label
            assert stats["currency"] == "€"
            assert stats["cost"] == pytest.approx(0.21)
            assert len(stats["watt"]) == samples
            expected = [wire_to_si(value) for value in reference["watt"][0]]
            assert stats["watt"] == pytest.approx(expected, abs=0.002)
            date_parts = [int(part) for part in reference["date"].split("-")]
            assert [stats["year"], stats["month"]] == date_parts[:2]
            if stat_type == 0:
                assert [stats["day"], stats["hour"]] == date_parts[2:]
            total = await device.get_statistics(0, stat_type)
            expected_total = [
                sum(wire_to_si(series[i]) for series in reference["watt"]) for i in range(samples)
            ]
            assert total["watt"] == pytest.approx(expected_total, abs=0.002 * count)

        if milli:
            with pytest.raises(CommandError):
                await device.change_port_name(1, "Toaster")
            assert emulator.port_names == plug_kwargs()["port_names"]
        else:
            assert await device.change_port_name(2, "Coffee") is True
            assert emulator.port_names[1] == "Coffee"
            names = await device.retrieve_port_names()
            assert names["Port 2"] == "Coffee"
            assert names["Port 0"] == emulator.name
    finally:
        await device.close()
