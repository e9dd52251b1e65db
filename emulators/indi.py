"""INDI emulator: an `indipydriver` driver served by `indipyserver`, behind a fault-injecting front.

Layout (all in the caller's event loop)::

    client --TCP--> front (asyncio server, host:port) --TCP--> IPyServer (127.0.0.1:ephemeral)
                                                                  |- SwitchboardDriver (in process)

The front forwards client bytes unchanged (and records the elements it saw in `received`) and
re-serialises the server's elements one by one, so raw bytes (`inject_raw`, e.g. malformed XML)
land exactly between two elements. `restart()` closes the front and every connection, replaces
the IPyServer and driver with fresh instances (state is lost, as on a real restart) and listens
on the same port again.

Devices
-------
"Switchboard Plug":
  POWER    switch OneOfMany rw  ON / OFF (the driver enforces the rule)
  OUTLETS  switch AnyOfMany rw  OUTLET1..OUTLET3
  METER    number ro  WATTS (%.2f, 0..3600), VOLTS (%.1f); pushed every `meter_interval` s if set
  TARGET   number rw  LEVEL (%.1f, 0..100 step 5): Busy, then Ok after `command_delay`;
           a LEVEL above 90 is refused with Alert
  POINTING number ro  RA (%010.6m, sexagesimal "12:30:00"), DEC (%010.6m)
  INFO     text ro    FIRMWARE, SERIAL
  LABEL    text rw    NAME
  STATUS   light      POWER_LED, FAULT
  SNAPSHOT BLOB ro    FRAME (sent by `send_blob`, only to clients that enabled BLOBs)
  EXTRA    number ro  COUNT, defined only when `define_late()` is called
"Switchboard Lamp":
  CONNECTION switch OneOfMany rw CONNECT / DISCONNECT (the ON/OFF pattern)
  BRIGHTNESS number rw VALUE (%.0f, 0..255 step 1)

CLI: ``python -m emulators.indi --host 127.0.0.1 --port 7625 [--meter-interval 1]``.
"""

import argparse
import asyncio
import base64
from collections.abc import Iterator
import contextlib
from datetime import UTC, datetime
import logging
from typing import Any, Final, cast
import xml.etree.ElementTree as ET

from indipydriver import (  # type: ignore[import-untyped,unused-ignore]
    BLOBMember,
    BLOBVector,
    Device,
    IPyDriver,
    LightMember,
    LightVector,
    NumberMember,
    NumberVector,
    SwitchMember,
    SwitchVector,
    TextMember,
    TextVector,
)
from indipyserver import IPyServer  # type: ignore[import-untyped,unused-ignore]

_LOGGER = logging.getLogger(__name__)

PLUG: Final = "Switchboard Plug"
LAMP: Final = "Switchboard Lamp"
ALERT_ABOVE: Final = 90.0


def _timestamp() -> str:
    return datetime.now(tz=UTC).replace(tzinfo=None).isoformat(sep="T")


def _build_plug(name: str = PLUG) -> Device:
    extra = NumberVector(
        "EXTRA",
        "Extra",
        "Status",
        "ro",
        "Ok",
        [NumberMember("COUNT", "Count", "%.0f", 0, 1000, 1, 7)],
    )
    extra.enable = False  # defined later by IndiEmulator.define_late()
    return Device(
        name,
        [
            SwitchVector(
                "POWER",
                "Power",
                "Control",
                "rw",
                "OneOfMany",
                "Ok",
                [SwitchMember("ON", "On", "Off"), SwitchMember("OFF", "Off", "On")],
            ),
            SwitchVector(
                "OUTLETS",
                "Outlets",
                "Control",
                "rw",
                "AnyOfMany",
                "Ok",
                [SwitchMember(f"OUTLET{i}", f"Outlet {i}", "Off") for i in (1, 2, 3)],
            ),
            NumberVector(
                "METER",
                "Meter",
                "Status",
                "ro",
                "Ok",
                [
                    NumberMember("WATTS", "Watts", "%.2f", 0, 3600, 0, 12.5),
                    NumberMember("VOLTS", "Volts", "%.1f", 0, 300, 0, 230.0),
                ],
            ),
            NumberVector(
                "TARGET",
                "Target",
                "Control",
                "rw",
                "Idle",
                [NumberMember("LEVEL", "Level", "%.1f", 0, 100, 5, 50)],
            ),
            NumberVector(
                "POINTING",
                "Pointing",
                "Status",
                "ro",
                "Ok",
                [
                    NumberMember("RA", "RA (hh:mm:ss)", "%010.6m", 0, 24, 0, "12:30:00"),
                    NumberMember("DEC", "DEC (dd:mm:ss)", "%010.6m", -90, 90, 0, "-45:15:00"),
                ],
            ),
            TextVector(
                "INFO",
                "Info",
                "Status",
                "ro",
                "Ok",
                [
                    TextMember("FIRMWARE", "Firmware", "1.2.3"),
                    TextMember("SERIAL", "Serial", "SB-0001"),
                ],
            ),
            TextVector(
                "LABEL", "Label", "Control", "rw", "Ok", [TextMember("NAME", "Name", "Desk")]
            ),
            LightVector(
                "STATUS",
                "Status",
                "Status",
                "Ok",
                [
                    LightMember("POWER_LED", "Power LED", "Ok"),
                    LightMember("FAULT", "Fault", "Idle"),
                ],
            ),
            BLOBVector(
                "SNAPSHOT", "Snapshot", "Status", "ro", "Idle", [BLOBMember("FRAME", "Frame")]
            ),
            extra,
        ],
    )


def _build_lamp(name: str = LAMP) -> Device:
    return Device(
        name,
        [
            SwitchVector(
                "CONNECTION",
                "Connection",
                "Main Control",
                "rw",
                "OneOfMany",
                "Idle",
                [
                    SwitchMember("CONNECT", "Connect", "Off"),
                    SwitchMember("DISCONNECT", "Disconnect", "On"),
                ],
            ),
            NumberVector(
                "BRIGHTNESS",
                "Brightness",
                "Main Control",
                "rw",
                "Ok",
                [NumberMember("VALUE", "Value", "%.0f", 0, 255, 1, 128)],
            ),
        ],
    )


class SwitchboardDriver(IPyDriver):  # type: ignore[misc]
    """Simulated instruments answering newXXXVector like real INDI drivers."""

    def __init__(
        self,
        *,
        meter_interval: float | None,
        command_delay: float,
        names: tuple[str, str] = (PLUG, LAMP),
    ) -> None:
        """Build the devices (``names``: the plug's and the lamp's).

        `meter_interval` None means METER is only pushed on request.
        """
        super().__init__(_build_plug(names[0]), _build_lamp(names[1]))
        self.plug, self.lamp = names
        self.meter_interval = meter_interval
        self.command_delay = command_delay
        self._watts = 12.5

    async def rxevent(self, event: Any) -> None:
        """Apply a client's newXXXVector and answer with setXXXVector."""
        vector = event.vector
        kind = type(event).__name__
        if kind == "newSwitchVector":
            for name, value in event.items():
                vector[name] = value
            if vector.rule in ("OneOfMany", "AtMostOne"):
                chosen = [name for name, value in event.items() if value == "On"]
                if chosen:
                    for name in vector:
                        vector[name] = "On" if name == chosen[-1] else "Off"
            if event.devicename == self.lamp and event.vectorname == "CONNECTION":
                await vector.send_setVector(state="Busy")
                await asyncio.sleep(self.command_delay)
            await vector.send_setVector(state="Ok")
        elif kind == "newNumberVector":
            values = {name: self.indi_number_to_float(value) for name, value in event.items()}
            if event.vectorname == "TARGET" and values.get("LEVEL", 0.0) > ALERT_ABOVE:
                await vector.send_setVector(
                    state="Alert", message=f"Level above {ALERT_ABOVE:g} refused"
                )
                return
            await vector.send_setVector(state="Busy", allvalues=False)
            await asyncio.sleep(self.command_delay)
            for name, value in values.items():
                vector[name] = value
            await vector.send_setVector(state="Ok")
        elif kind == "newTextVector":
            for name, value in event.items():
                vector[name] = value
            await vector.send_setVector(state="Ok")

    async def hardware(self) -> None:
        """Push METER periodically when `meter_interval` is set."""
        if self.meter_interval is None:
            return
        while not self.stop:
            await asyncio.sleep(self.meter_interval)
            self._watts = 10.0 + (self._watts + 1.7) % 40
            await self.push_meter(self._watts)

    async def push_meter(self, watts: float, volts: float | None = None) -> None:
        """Send METER with new values (setNumberVector, state Ok)."""
        meter = self[self.plug]["METER"]
        meter["WATTS"] = watts
        if volts is not None:
            meter["VOLTS"] = volts
        await meter.send_setVector(state="Ok", allvalues=True)


class _EofReader:
    """Wraps a StreamReader so EOF raises ConnectionResetError.

    indipyserver 0.0.6's client loop treats `read()` returning b"" as "no data yet" and spins;
    raising on EOF lets it close the connection slot at once.
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read(self, n: int = -1) -> bytes:
        data = await self._reader.read(n)
        if not data:
            raise ConnectionResetError("client closed the connection")
        return data


class _Server(IPyServer):  # type: ignore[misc]
    async def handle_data(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # indipyserver only suppresses BrokenPipeError while closing; a reset is just as normal.
        with contextlib.suppress(ConnectionError):
            await super().handle_data(_EofReader(reader), writer)


class _ElementStream:
    """Top-level elements of a rootless XML stream (independent of the client under test)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self._parser.feed(b"<root>")
        self._root: ET.Element | None = None
        self._depth = 0

    def feed(self, data: bytes) -> list[ET.Element]:
        out: list[ET.Element] = []
        try:
            self._parser.feed(data)
            for event, element in cast(
                "Iterator[tuple[str, ET.Element]]", self._parser.read_events()
            ):
                if event == "start":
                    self._depth += 1
                    if self._root is None:
                        self._root = element
                    continue
                self._depth -= 1
                if self._depth == 1 and self._root is not None:
                    out.append(element)
                    self._root.remove(element)
        except ET.ParseError:
            _LOGGER.warning("Emulator front: unparsable data, parser reset")
            self._reset()
        return out


class _Connection:
    """One client connection through the front: raw bytes up, re-serialised elements down."""

    def __init__(
        self,
        emulator: IndiEmulator,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.emulator = emulator
        self.reader = reader
        self.writer = writer
        self.backend_writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            backend_reader, self.backend_writer = await asyncio.open_connection(
                "127.0.0.1", self.emulator.backend_port
            )
        except OSError:
            self.writer.close()
            return
        down = asyncio.create_task(self._down(backend_reader))
        try:
            await self._up()
        finally:
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await down
            self.close()

    async def _up(self) -> None:
        assert self.backend_writer is not None
        stream = _ElementStream()
        while data := await self.reader.read(65536):
            self.emulator.received.extend(stream.feed(data))
            self.backend_writer.write(data)
            await self.backend_writer.drain()

    async def _down(self, backend_reader: asyncio.StreamReader) -> None:
        stream = _ElementStream()
        while data := await backend_reader.read(65536):
            for element in stream.feed(data):
                self.writer.write(ET.tostring(element))
            await self.writer.drain()
        self.writer.close()

    def inject(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def close(self) -> None:
        self.writer.close()
        if self.backend_writer is not None:
            self.backend_writer.close()


class IndiEmulator:
    """The emulator: start(), the test controls below, stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        meter_interval: float | None = None,
        command_delay: float = 0.05,
    ) -> None:
        """Configure; `port` 0 picks a free port (see `port` after start)."""
        self.host = host
        self.port = port
        self.meter_interval = meter_interval
        self.command_delay = command_delay
        self.received: list[ET.Element] = []
        """Every element clients sent, in order (getProperties, new*, enableBLOB...)."""
        self.device_names: tuple[str, str] = (PLUG, LAMP)
        """The plug's and the lamp's device names from the next (re)start on: other names make
        it another server at the same address (the fault matrix's identity fault)."""
        self.driver: SwitchboardDriver | None = None
        self.backend_port = 0
        self._server: _Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._front: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the IPyServer with a fresh driver and the front listener."""
        await self._start_backend()
        self._front = await asyncio.start_server(self._handle_client, self.host, self.port)
        self.port = self._front.sockets[0].getsockname()[1]

    async def _start_backend(self) -> None:
        self.driver = SwitchboardDriver(
            meter_interval=self.meter_interval,
            command_delay=self.command_delay,
            names=self.device_names,
        )
        server = _Server(self.driver, host="127.0.0.1", port=0, maxconnections=10)
        server.keepalive = 0
        self._server = server
        self._server_task = asyncio.create_task(server.asyncrun())
        while server.server is None or not server.server.sockets:
            if self._server_task.done():
                raise RuntimeError("IPyServer did not start")
            await asyncio.sleep(0.005)
        self.backend_port = server.server.sockets[0].getsockname()[1]

    async def _handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = _Connection(self, reader, writer)
        self._connections.add(connection)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await connection.run()
        except OSError, asyncio.IncompleteReadError:
            pass
        finally:
            self._connections.discard(connection)
            self._handlers.discard(task)
            connection.close()

    async def stop(self) -> None:
        """Close every connection, the front and the IPyServer; leaves no task behind."""
        if self._front is not None:
            self._front.close()
        for connection in list(self._connections):
            connection.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        if self._front is not None:
            await self._front.wait_closed()
            self._front = None
        await self._stop_backend()

    async def _stop_backend(self) -> None:
        server, task = self._server, self._server_task
        self._server = self._server_task = None
        if server is None or task is None:
            return
        server.shutdown()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def restart(self, downtime: float = 0.2) -> None:
        """Simulate a server restart: drop everyone, forget all state, listen again."""
        await self.stop()
        await asyncio.sleep(downtime)
        await self.start()

    async def __aenter__(self) -> IndiEmulator:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop on exit."""
        await self.stop()

    # -------------------------------------------------------------- test controls

    @property
    def client_count(self) -> int:
        """Connected clients."""
        return len(self._connections)

    def _driver(self) -> SwitchboardDriver:
        if self.driver is None:
            raise RuntimeError("emulator not started")
        return self.driver

    def vector(self, device: str, name: str) -> Any:
        """Return the driver's vector object (indipydriver), to read or change values."""
        return self._driver()[device][name]

    async def define_late(self) -> None:
        """Define EXTRA on the plug now (defNumberVector after the initial definitions)."""
        extra = self.vector(PLUG, "EXTRA")
        extra.enable = True
        await extra.send_defVector()

    async def delete_vector(self, device: str, name: str) -> None:
        """Send delProperty for one vector (it stays undefined until `redefine`)."""
        await self.vector(device, name).send_delProperty(message="removed by test")

    async def delete_device(self, device: str) -> None:
        """Send delProperty for a whole device."""
        await self._driver()[device].send_delProperty(message="device removed by test")

    async def redefine(self, device: str, name: str) -> None:
        """Enable and re-send a definition (after `delete_vector`)."""
        vector = self.vector(device, name)
        self._driver()[device].enable = True
        vector.enable = True
        await vector.send_defVector()

    async def set_state(self, device: str, name: str, state: str, message: str = "") -> None:
        """Send setXXXVector with the given state (e.g. Alert) and all values."""
        await self.vector(device, name).send_setVector(state=state, message=message)

    async def push_meter(self, watts: float, volts: float | None = None) -> None:
        """Send a METER update now."""
        await self._driver().push_meter(watts, volts)

    async def send_message(self, text: str, device: str = PLUG) -> None:
        """Send a device `<message>`."""
        await self._driver()[device].send_device_message(text)

    async def send_blob(self, data: bytes, blob_format: str = ".fits") -> None:
        """Send SNAPSHOT.FRAME (setBLOBVector; the server forwards it only where enabled)."""
        element = ET.Element(
            "setBLOBVector",
            device=PLUG,
            name="SNAPSHOT",
            state="Ok",
            timestamp=_timestamp(),
        )
        member = ET.SubElement(
            element, "oneBLOB", name="FRAME", size=str(len(data)), format=blob_format
        )
        member.text = base64.b64encode(data).decode()
        await self._driver().send(element)

    def inject_raw(self, data: bytes) -> None:
        """Write raw bytes (e.g. malformed XML) to every client, between two elements."""
        for connection in self._connections:
            connection.inject(data)

    def received_tags(self, tag: str) -> list[ET.Element]:
        """Elements with this tag that clients sent."""
        return [element for element in self.received if element.tag == tag]


async def _main(host: str, port: int, meter_interval: float | None) -> None:
    emulator = IndiEmulator(host, port, meter_interval=meter_interval)
    await emulator.start()
    print(f"INDI emulator on {host}:{emulator.port}; devices {PLUG!r}, {LAMP!r}")
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main() -> None:
    """Run the emulator until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7625)
    parser.add_argument(
        "--meter-interval", type=float, default=1.0, help="seconds between METER updates (0: off)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.host, args.port, args.meter_interval or None))


if __name__ == "__main__":
    main()
