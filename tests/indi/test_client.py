"""IndiClient against real peers: the C++ indiserver simulators and our indipydriver emulator."""

import asyncio
from collections.abc import AsyncGenerator, Callable
import contextlib
import logging
from typing import Any

import pytest

from custom_components.switchboard.vendors.indi.client import (
    Connected,
    Defined,
    Deleted,
    Disconnected,
    IndiClient,
    IndiConnectionError,
    IndiError,
    IndiEvent,
    IndiTimeoutError,
    IndiVectorAlertError,
    Message,
    Updated,
    async_probe,
)
from emulators.indi import LAMP, PLUG, IndiEmulator
from emulators.indiserver import SIMULATOR_DEVICES

from .conftest import EventRecorder, IndiServerAddress

type ClientFactory = Callable[..., IndiClient]


@pytest.fixture
async def make_client(
    recorder: EventRecorder,
) -> AsyncGenerator[Callable[..., IndiClient]]:
    """Build clients that run in the background and are closed at teardown."""
    clients: list[tuple[IndiClient, asyncio.Task[None]]] = []

    def factory(host: str, port: int, **kwargs: Any) -> IndiClient:
        kwargs.setdefault("on_event", recorder)
        kwargs.setdefault("reconnect_min", 0.05)
        client = IndiClient(host, port, **kwargs)
        clients.append((client, asyncio.create_task(client.async_run())))
        return client

    yield factory
    for client, task in clients:
        await client.async_close()
        assert task.done()


def _updates(recorder: EventRecorder, device: str, name: str) -> list[Any]:
    return [e.vector for e in recorder.of(Updated) if e.vector.key == (device, name)]


def _defined(client: IndiClient, *keys: tuple[str, str]) -> Callable[[], bool]:
    return lambda: all(key in client.vectors for key in keys)


# --------------------------------------------------------------------- real indiserver


async def test_probe_real_indiserver(indiserver: IndiServerAddress) -> None:
    devices = await async_probe(indiserver.host, indiserver.port, timeout=5, collect=3)
    assert set(SIMULATOR_DEVICES) <= set(devices)


async def test_probe_unreachable(socket_enabled: None) -> None:
    with pytest.raises(IndiConnectionError):
        await async_probe("127.0.0.1", 1, timeout=2)


async def _connect_device(client: IndiClient, recorder: EventRecorder, device: str) -> None:
    await recorder.wait_for(_defined(client, (device, "CONNECTION")))
    result = await client.async_command(device, "CONNECTION", {"CONNECT": "On"}, timeout=10)
    assert result.state == "Ok"
    assert result.members["CONNECT"].value == "On"


async def test_real_simulators_define_and_connect(
    indiserver: IndiServerAddress, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indiserver.host, indiserver.port)
    await recorder.wait_for(
        _defined(client, *((device, "CONNECTION") for device in SIMULATOR_DEVICES))
    )
    assert isinstance(recorder.events[0], Connected)
    assert client.connected
    # The telescope defines its mount properties only once connected (a late definition).
    assert ("Telescope Simulator", "EQUATORIAL_EOD_COORD") not in client.vectors
    await _connect_device(client, recorder, "Telescope Simulator")
    await recorder.wait_for(_defined(client, ("Telescope Simulator", "EQUATORIAL_EOD_COORD")))
    coord = client.vectors[("Telescope Simulator", "EQUATORIAL_EOD_COORD")]
    assert coord.kind == "number"
    assert coord.perm == "rw"
    assert coord.members["RA"].format == "%010.6m"
    assert isinstance(coord.members["RA"].value, float)
    assert 0 <= coord.members["RA"].value <= 24
    # Driver messages arrive as Message events.
    await recorder.wait_for(
        lambda: any(
            m.device == "Telescope Simulator" and "online" in m.text for m in recorder.of(Message)
        )
    )


async def test_real_filter_change_busy_then_ok(
    indiserver: IndiServerAddress, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indiserver.host, indiserver.port, devices=["Filter Simulator"])
    await _connect_device(client, recorder, "Filter Simulator")
    await recorder.wait_for(_defined(client, ("Filter Simulator", "FILTER_SLOT")))
    result = await client.async_command(
        "Filter Simulator", "FILTER_SLOT", {"FILTER_SLOT_VALUE": 3}, timeout=10
    )
    assert result.state == "Ok"
    assert result.members["FILTER_SLOT_VALUE"].value == 3
    states = [v.state for v in _updates(recorder, "Filter Simulator", "FILTER_SLOT")]
    assert states[-2:] == ["Busy", "Ok"]
    # The device filter kept every other device out.
    assert {device for device, _ in client.vectors} == {"Filter Simulator"}


async def test_real_focuser_move(
    indiserver: IndiServerAddress, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indiserver.host, indiserver.port, devices=["Focuser Simulator"])
    await _connect_device(client, recorder, "Focuser Simulator")
    key = ("Focuser Simulator", "ABS_FOCUS_POSITION")
    await recorder.wait_for(_defined(client, key))
    start = client.vectors[key].members["FOCUS_ABSOLUTE_POSITION"].value
    assert isinstance(start, float)
    target = start + 2000
    result = await client.async_command(*key, {"FOCUS_ABSOLUTE_POSITION": target}, timeout=10)
    assert result.state == "Ok"
    assert result.members["FOCUS_ABSOLUTE_POSITION"].value == target
    assert client.vectors[key].members["FOCUS_ABSOLUTE_POSITION"].value == target


async def test_real_ccd_temperature_busy_then_ok(
    indiserver: IndiServerAddress, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indiserver.host, indiserver.port, devices=["CCD Simulator"])
    await _connect_device(client, recorder, "CCD Simulator")
    key = ("CCD Simulator", "CCD_TEMPERATURE")
    await recorder.wait_for(_defined(client, key, ("CCD Simulator", "CCD_COOLER")))
    temperature = client.vectors[key]
    member = temperature.members["CCD_TEMPERATURE_VALUE"]
    assert (member.minimum, member.maximum) == (-50, 50)
    assert isinstance(member.value, float)
    target = member.value - 0.5  # the simulator ramps 0.5 degC per second
    result = await client.async_command(*key, {"CCD_TEMPERATURE_VALUE": target}, timeout=15)
    assert result.state == "Ok"
    assert result.members["CCD_TEMPERATURE_VALUE"].value == pytest.approx(target)
    assert "Busy" in [v.state for v in _updates(recorder, *key)]


async def test_real_telescope_slew(
    indiserver: IndiServerAddress, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indiserver.host, indiserver.port, devices=["Telescope Simulator"])
    await _connect_device(client, recorder, "Telescope Simulator")
    key = ("Telescope Simulator", "EQUATORIAL_EOD_COORD")
    # The definition carries 0/0; the first update reports where the mount really points.
    await recorder.wait_for(lambda: _updates(recorder, *key))
    current = client.vectors[key].members
    ra, dec = current["RA"].value, current["DEC"].value
    assert isinstance(ra, float)
    assert isinstance(dec, float)
    target_dec = dec - 0.5 if dec > 0 else dec + 0.5
    before = len(recorder.events)
    await client.async_send_new_vector(*key, {"RA": ra, "DEC": target_dec})

    def slew_done() -> bool:
        states = [
            e.vector
            for e in recorder.events[before:]
            if isinstance(e, Updated) and e.vector.key == key
        ]
        busy = [i for i, v in enumerate(states) if v.state == "Busy"]
        return bool(busy) and any(v.state != "Busy" for v in states[busy[0] :])

    await recorder.wait_for(slew_done, timeout=30)
    assert client.vectors[key].members["DEC"].value == pytest.approx(target_dec, abs=0.05)


# --------------------------------------------------------------------- the emulator


async def test_emulator_definitions_and_kinds(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "SNAPSHOT"), (LAMP, "BRIGHTNESS")))
    vectors = client.vectors
    assert vectors[(PLUG, "POWER")].rule == "OneOfMany"
    assert vectors[(PLUG, "OUTLETS")].rule == "AnyOfMany"
    assert vectors[(PLUG, "METER")].perm == "ro"
    assert vectors[(PLUG, "STATUS")].kind == "light"
    assert vectors[(PLUG, "STATUS")].members["POWER_LED"].value == "Ok"
    assert vectors[(PLUG, "INFO")].members["SERIAL"].value == "SB-0001"
    pointing = vectors[(PLUG, "POINTING")].members
    assert pointing["RA"].value == 12.5
    assert pointing["DEC"].value == -45.25
    assert vectors[(PLUG, "SNAPSHOT")].kind == "blob"
    assert (PLUG, "EXTRA") not in vectors
    # getProperties version 1.7 was sent once for all devices
    asks = indi_emulator.received_tags("getProperties")
    assert [(e.get("version"), e.get("device")) for e in asks] == [("1.7", None)]


async def test_emulator_device_filter_asks_per_device(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port, devices=[LAMP])
    await recorder.wait_for(_defined(client, (LAMP, "BRIGHTNESS")))
    await indi_emulator.send_message("plug talks")
    await indi_emulator.send_message("lamp talks", device=LAMP)
    await recorder.wait_for(lambda: recorder.of(Message))
    assert [m.text for m in recorder.of(Message)] == ["lamp talks"]
    assert {device for device, _ in client.vectors} == {LAMP}
    asks = indi_emulator.received_tags("getProperties")
    assert [(e.get("version"), e.get("device")) for e in asks] == [("1.7", LAMP)]


async def test_emulator_command_busy_then_ok_and_alert(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    key = (PLUG, "TARGET")
    await recorder.wait_for(_defined(client, key))
    result = await client.async_command(*key, {"LEVEL": 70}, timeout=5)
    assert result.state == "Ok"
    assert result.members["LEVEL"].value == 70
    assert [v.state for v in _updates(recorder, *key)] == ["Busy", "Ok"]
    new = indi_emulator.received_tags("newNumberVector")
    assert new[-1].get("device") == PLUG
    assert new[-1].find("oneNumber").text == "70"  # type: ignore[union-attr]

    with pytest.raises(IndiVectorAlertError) as err:
        await client.async_command(*key, {"LEVEL": 95}, timeout=5)
    assert err.value.vector.state == "Alert"
    assert "refused" in (err.value.vector.message or "")
    assert client.vectors[key].state == "Alert"
    assert client.vectors[key].members["LEVEL"].value == 70

    # A state pushed by the device (not a reply) is seen too.
    waiter = asyncio.create_task(client.async_wait_for_state(PLUG, "METER", timeout=5))
    await asyncio.sleep(0)
    await indi_emulator.set_state(PLUG, "METER", "Alert", "overload")
    meter = await waiter
    assert meter.state == "Alert"
    assert meter.message == "overload"


async def test_emulator_switch_rules(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "POWER"), (PLUG, "OUTLETS")))
    power = await client.async_command(PLUG, "POWER", {"ON": "On"}, timeout=5)
    assert {n: m.value for n, m in power.members.items()} == {"ON": "On", "OFF": "Off"}
    outlets = await client.async_command(PLUG, "OUTLETS", {"OUTLET2": "On"}, timeout=5)
    assert {n: m.value for n, m in outlets.members.items()} == {
        "OUTLET1": "Off",
        "OUTLET2": "On",
        "OUTLET3": "Off",
    }
    label = await client.async_command(PLUG, "LABEL", {"NAME": "Bench <&>"}, timeout=5)
    assert label.members["NAME"].value == "Bench <&>"


async def test_command_validation(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "SNAPSHOT")))
    with pytest.raises(IndiError, match="no vector"):
        await client.async_send_new_vector(PLUG, "NOPE", {"A": 1})
    with pytest.raises(IndiError, match="read-only"):
        await client.async_send_new_vector(PLUG, "METER", {"WATTS": 1})
    with pytest.raises(IndiError, match="read-only"):
        await client.async_send_new_vector(PLUG, "STATUS", {"FAULT": "Ok"})
    with pytest.raises(IndiError, match="no member"):
        await client.async_send_new_vector(PLUG, "TARGET", {"NOPE": 1})
    with pytest.raises(IndiError, match="On or Off"):
        await client.async_send_new_vector(PLUG, "POWER", {"ON": 1})
    with pytest.raises(IndiTimeoutError):
        await client.async_wait_for_state(PLUG, "POWER", timeout=0.05)
    with pytest.raises(ValueError, match="needs a device"):
        await client.async_get_properties(None, "POWER")
    assert not indi_emulator.received_tags("newNumberVector")


async def test_not_connected_errors(socket_enabled: None, recorder: EventRecorder) -> None:
    client = IndiClient("127.0.0.1", 1, on_event=recorder, connect_timeout=1)
    with pytest.raises(IndiConnectionError):
        await client.async_connect()
    with pytest.raises(IndiConnectionError):
        await client.async_get_properties()
    await client.async_close()
    with pytest.raises(IndiConnectionError):
        await client.async_connect()
    assert not client.connected


async def test_emulator_late_definition_and_del_property(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "SNAPSHOT")))
    await indi_emulator.define_late()
    await recorder.wait_for(_defined(client, (PLUG, "EXTRA")))
    assert client.vectors[(PLUG, "EXTRA")].members["COUNT"].value == 7

    # A waiter on a vector that gets deleted fails instead of hanging.
    waiter = asyncio.create_task(client.async_wait_for_state(PLUG, "EXTRA", timeout=5))
    await asyncio.sleep(0)
    await indi_emulator.delete_vector(PLUG, "EXTRA")
    await recorder.wait_for(lambda: recorder.of(Deleted))
    assert recorder.of(Deleted) == [Deleted(PLUG, "EXTRA")]
    assert (PLUG, "EXTRA") not in client.vectors
    with pytest.raises(IndiError, match="deleted"):
        await waiter

    await indi_emulator.delete_device(LAMP)
    await recorder.wait_for(lambda: Deleted(LAMP, None) in recorder.of(Deleted))
    assert not [key for key in client.vectors if key[0] == LAMP]
    assert (PLUG, "POWER") in client.vectors


async def test_emulator_malformed_xml_survives(
    indi_emulator: IndiEmulator,
    make_client: ClientFactory,
    recorder: EventRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "METER")))
    received_before = client.received_elements
    with caplog.at_level(logging.WARNING):
        indi_emulator.inject_raw(b'<setNumberVector device="Switchboard Plug" name="METER" ')
        indi_emulator.inject_raw(b'state="Ok"><oneNumber name="WATTS">1 & 2</oneNumber>')
        indi_emulator.inject_raw(b"</setNumberVector>")  # an unescaped & : not well-formed
        indi_emulator.inject_raw(b"random noise </oops> <<>>")
        indi_emulator.inject_raw(b'<setNumberVector device="Switchboard Plug" name="METER">')
        # ^ never closed; the next element resynchronises the stream
        indi_emulator.inject_raw(
            b'<defTextVector device="Switchboard Plug" name="BAD" perm="nope"/>'
        )  # well-formed, invalid INDI
        await indi_emulator.push_meter(99.5)
        await recorder.wait_for(
            lambda: any(v.members["WATTS"].value == 99.5 for v in _updates(recorder, PLUG, "METER"))
        )
    assert client.connected
    assert not recorder.of(Disconnected)
    assert [v.members["WATTS"].value for v in _updates(recorder, PLUG, "METER")] == [99.5]
    assert (PLUG, "BAD") not in client.vectors
    assert client.received_elements > received_before
    malformed_logs = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(malformed_logs) == 1  # logged once per connection


async def test_emulator_restart_reconnects(
    indi_emulator: IndiEmulator,
    make_client: ClientFactory,
    recorder: EventRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port, reconnect_min=0.05)
    await recorder.wait_for(_defined(client, (PLUG, "TARGET")))
    await client.async_command(PLUG, "TARGET", {"LEVEL": 80}, timeout=5)
    defined_before = len(recorder.of(Defined))

    await indi_emulator.restart(downtime=0.3)
    await recorder.wait_for(lambda: recorder.of(Disconnected))
    await recorder.wait_for(lambda: len(recorder.of(Connected)) == 2, timeout=10)
    await recorder.wait_for(lambda: len(recorder.of(Defined)) >= 2 * defined_before)
    assert client.connected
    # The restarted driver forgot its state; the client shows the server's new truth.
    assert client.vectors[(PLUG, "TARGET")].members["LEVEL"].value == 50
    # Sequence: Connected, ..., Disconnected, Connected, Defined...
    kinds = [type(e) for e in recorder.events if isinstance(e, Connected | Disconnected)]
    assert kinds == [Connected, Disconnected, Connected]
    assert (
        len(
            [
                r
                for r in caplog.records
                if r.levelno == logging.WARNING and "unavailable" in r.getMessage()
            ]
        )
        == 1
    )
    assert any("available again" in r.getMessage() for r in caplog.records)
    # Commands work on the new connection.
    result = await client.async_command(PLUG, "TARGET", {"LEVEL": 60}, timeout=5)
    assert result.members["LEVEL"].value == 60


async def test_emulator_snoop_timeout_reasks(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port, snoop_timeout=0.3)
    await recorder.wait_for(_defined(client, (PLUG, "SNAPSHOT")))
    await recorder.wait_for(lambda: len(indi_emulator.received_tags("getProperties")) >= 3)
    assert client.snoop_requests >= 2
    assert client.connected
    assert not recorder.of(Disconnected)  # the re-ask was answered: the connection is fine
    # Each re-ask is answered with the definitions again.
    assert len([e for e in recorder.of(Defined) if e.vector.key == (PLUG, "POWER")]) >= 2


async def test_silent_server_is_dropped_and_retried(
    socket_enabled: None, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    """A server that accepts but never answers (half-open link) is detected."""
    connections: list[asyncio.StreamWriter] = []
    requests: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        with contextlib.suppress(OSError):
            while data := await reader.read(1024):
                requests.append(data)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        make_client("127.0.0.1", port, snoop_timeout=0.2, reconnect_min=0.05)
        await recorder.wait_for(lambda: recorder.of(Disconnected), timeout=5)
        assert "no answer" in recorder.of(Disconnected)[0].reason
        await recorder.wait_for(lambda: len(recorder.of(Connected)) >= 2, timeout=5)
        await recorder.wait_for(lambda: b"".join(requests).count(b"<getProperties") >= 3)
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_run_keeps_retrying_until_closed(
    socket_enabled: None, recorder: EventRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    client = IndiClient("127.0.0.1", 1, on_event=recorder, reconnect_min=0.01, reconnect_max=0.02)
    task = asyncio.create_task(client.async_run())
    await asyncio.sleep(0.2)
    assert not task.done()
    await client.async_close()
    assert task.done()
    assert not recorder.events
    assert (
        len(
            [
                r
                for r in caplog.records
                if r.levelno == logging.WARNING and "unavailable" in r.getMessage()
            ]
        )
        == 1
    )


async def test_emulator_blob_only_when_enabled(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    key = (PLUG, "SNAPSHOT")
    await recorder.wait_for(_defined(client, key))
    await indi_emulator.send_blob(b"SIMPLE  = T" * 10, ".fits")
    await indi_emulator.push_meter(1.0)  # ordering barrier: METER arrives after the BLOB would
    await recorder.wait_for(lambda: _updates(recorder, PLUG, "METER"))
    assert not _updates(recorder, *key)

    await client.async_enable_blob(PLUG, "SNAPSHOT", "Also")
    await recorder.wait_for(lambda: indi_emulator.received_tags("enableBLOB"))
    await indi_emulator.send_blob(b"\x00" * 1234, ".fits.z")
    await recorder.wait_for(lambda: _updates(recorder, *key))
    frame = _updates(recorder, *key)[-1].members["FRAME"]
    assert (frame.size, frame.blob_format) == (1234, ".fits.z")


async def test_enable_blob_is_replayed_after_reconnect(
    indi_emulator: IndiEmulator, make_client: ClientFactory, recorder: EventRecorder
) -> None:
    client = make_client(indi_emulator.host, indi_emulator.port)
    await recorder.wait_for(_defined(client, (PLUG, "SNAPSHOT")))
    await client.async_enable_blob(PLUG)
    await indi_emulator.restart(downtime=0.05)
    await recorder.wait_for(lambda: len(recorder.of(Connected)) == 2, timeout=10)
    await recorder.wait_for(lambda: indi_emulator.received_tags("enableBLOB"))
    element = indi_emulator.received_tags("enableBLOB")[0]
    assert (element.get("device"), element.get("name"), element.text) == (PLUG, None, "Also")


async def test_event_callback_errors_do_not_break_the_client(
    indi_emulator: IndiEmulator, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[IndiEvent] = []

    def fragile(event: IndiEvent) -> None:
        seen.append(event)
        if isinstance(event, Defined):
            raise RuntimeError("boom")

    client = make_client(indi_emulator.host, indi_emulator.port, on_event=fragile)
    async with asyncio.timeout(5):
        while (PLUG, "SNAPSHOT") not in client.vectors:
            await asyncio.sleep(0.01)
    assert client.connected
    assert "Error in INDI event callback" in caplog.text
    assert len([e for e in seen if isinstance(e, Defined)]) == len(client.vectors)
