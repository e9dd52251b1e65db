"""Fidelity: the independent `indipyclient` library talks to our emulator (it speaks INDI)."""

import asyncio
from typing import Any

from indipyclient import IPyClient
import pytest

from emulators.indi import LAMP, PLUG, IndiEmulator

pytestmark = pytest.mark.emulator


class _RecordingClient(IPyClient):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[Any] = []
        self.changed = asyncio.Event()

    async def rxevent(self, event: Any) -> None:
        self.events.append(event)
        self.changed.set()


async def _until(client: _RecordingClient, predicate: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            client.changed.clear()
            await client.changed.wait()


async def test_indipyclient_sees_emulator_devices(indi_emulator: IndiEmulator) -> None:
    client = _RecordingClient(indihost=indi_emulator.host, indiport=indi_emulator.port)
    task = asyncio.create_task(client.asyncrun())
    try:
        await _until(client, lambda: PLUG in client and "SNAPSHOT" in client[PLUG])
        await _until(client, lambda: LAMP in client and "BRIGHTNESS" in client[LAMP])
        plug = client[PLUG]
        assert plug["POWER"].vectortype == "SwitchVector"
        assert plug["POWER"].rule == "OneOfMany"
        assert plug["METER"].perm == "ro"
        assert plug["METER"].getfloatvalue("WATTS") == 12.5
        assert plug["POINTING"].getfloatvalue("RA") == 12.5
        assert plug["STATUS"].vectortype == "LightVector"
        assert plug["INFO"]["SERIAL"] == "SB-0001"

        # A command round trip through the library: confirmed Ok, value applied.
        await client.send_newVector(PLUG, "TARGET", members={"LEVEL": "40"})
        await _until(
            client,
            lambda: any(
                e.eventtype == "Set" and e.vectorname == "TARGET" and e.vector.state == "Ok"
                for e in client.events
            ),
        )
        assert client[PLUG]["TARGET"].getfloatvalue("LEVEL") == 40
        await indi_emulator.send_message("hello library")
        await _until(
            client,
            lambda: any(
                e.eventtype == "Message" and getattr(e, "message", "") == "hello library"
                for e in client.events
            ),
        )
    finally:
        client.shutdown()
        async with asyncio.timeout(5):
            await task
