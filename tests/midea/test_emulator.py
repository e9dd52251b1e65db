"""The emulator against independent libraries: midea-local 12.2.0 and midea-beautiful-air.

Neither library is used by the emulator, so each test checks the emulator's protocol against
code written by others from real appliances. Blocking library calls run in a worker thread.
"""

import asyncio
from collections.abc import Callable, Generator
import contextlib
import socket
from typing import Any

import aiohttp
from midea_beautiful import lan as beautiful_lan, midea as beautiful_midea
from midealocal.cloud import get_midea_cloud
from midealocal.devices import device_selector
from midealocal.discover import BROADCAST_MSG, _parse_discover_response
from midealocal.exceptions import CloudLoginError
import pytest

from emulators.midea import MideaAppliance, aa_frame, crc8

from .conftest import ACCOUNT, PASSWORD, MideaStack

pytestmark = pytest.mark.emulator


def _discover(port: int, count: int) -> dict[int, dict[str, Any]]:
    """midea-local's own reply parser on a unicast probe to ``port``."""
    found: dict[int, dict[str, Any]] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(BROADCAST_MSG, ("127.0.0.1", port))
        while len(found) < count:
            device_id, device = _parse_discover_response(sock, found)
            if device is not None:
                found[device_id] = device
    return found


def _device(appliance: MideaAppliance, *, token: str | None = None, key: str | None = None) -> Any:
    v3 = appliance.protocol == 3
    return device_selector(
        name=appliance.name,
        device_id=appliance.appliance_id,
        device_type=appliance.device_type,
        ip_address="127.0.0.1",
        port=appliance.port,
        token=(token or appliance.token) if v3 else "",
        key=(key or appliance.key) if v3 else "",
        device_protocol=appliance.protocol,
        model=appliance.model,
        subtype=0,
        customize="",
    )


@pytest.fixture
def close_devices() -> Generator[Callable[[Any], Any]]:
    """Close midea-local devices after the test (their close() can race; see the client)."""
    devices: list[Any] = []
    yield devices.append
    for device in devices:
        device._is_run = False
        sock = device._socket
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if device.is_alive():
            device.join(timeout=15)
        with contextlib.suppress(OSError, AttributeError):
            device.close_socket()


async def test_discovery_answers_for_every_appliance(stack: MideaStack) -> None:
    """One responder answers for both appliances; each reply advertises its own TCP port."""
    found = await asyncio.to_thread(_discover, stack.discovery_port, 2)
    dehumidifier = found[stack.dehumidifier.appliance_id]
    assert dehumidifier == {
        "device_id": stack.dehumidifier.appliance_id,
        "type": 0xA1,
        "ip_address": "127.0.0.1",
        "port": stack.dehumidifier_server.port,
        "model": "00000Q1B",
        "sn": stack.dehumidifier.serial,
        "protocol": 3,
        "mac": "88c29c963bb0",
    }
    assert found[stack.air_conditioner.appliance_id]["port"] == stack.air_conditioner_server.port
    assert found[stack.air_conditioner.appliance_id]["type"] == 0xAC


async def test_v2_discovery(stack_v2: MideaStack) -> None:
    """V2 appliances answer with a bare 5A5A packet."""
    found = await asyncio.to_thread(_discover, stack_v2.discovery_port, 2)
    assert {device["protocol"] for device in found.values()} == {2}


@pytest.mark.parametrize("protocol", [2, 3])
async def test_midea_local_reads_and_sets_dehumidifier(
    stack: MideaStack, stack_v2: MideaStack, close_devices: Callable[[Any], Any], protocol: int
) -> None:
    """midea-local connects (V3 handshake or V2), reads the status, sets, and sees pushes."""
    used = stack if protocol == 3 else stack_v2
    appliance = used.dehumidifier
    appliance.tank = 40
    device = _device(appliance)
    close_devices(device)
    assert await asyncio.to_thread(device.connect, True)
    assert device.attributes["current_humidity"] == 62
    assert device.attributes["tank"] == 40
    assert device.attributes["water_level_set"] == "50"
    updates: list[dict[str, Any]] = []
    device.register_update(updates.append)
    device.daemon = True
    device.open()
    await asyncio.to_thread(device.set_attribute, "target_humidity", 65)
    while not any(update.get("target_humidity") == 65 for update in updates):
        await asyncio.sleep(0.01)
    assert appliance.target_humidity == 65
    appliance.humidity = 48
    appliance.push()
    while not any(update.get("current_humidity") == 48 for update in updates):
        await asyncio.sleep(0.01)


async def test_midea_local_reads_and_sets_air_conditioner(
    stack: MideaStack, close_devices: Callable[[Any], Any]
) -> None:
    """The AC answers every query of a status refresh: status, properties, energy, limits."""
    appliance = stack.air_conditioner
    device = _device(appliance)
    close_devices(device)
    assert await asyncio.to_thread(device.connect, True)
    attributes = device.attributes
    assert attributes["indoor_temperature"] == 26.5
    assert attributes["outdoor_temperature"] == 31.0
    assert attributes["indoor_humidity"] == 55
    assert attributes["total_energy_consumption"] == 123.45
    assert (attributes["min_temperature"], attributes["max_temperature"]) == (16.0, 30.0)
    assert device._unsupported_protocol == []
    device.daemon = True
    device.open()
    await asyncio.to_thread(device.set_attribute, "power", True)
    # A set carries the cached state: wait for the reply before the next set.
    while not device.attributes["power"]:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(device.set_attribute, "target_temperature", 22.5)
    while appliance.target_temperature != 22.5:
        await asyncio.sleep(0.01)
    assert appliance.power


async def test_wrong_token_and_wrong_key(
    stack: MideaStack, close_devices: Callable[[Any], Any]
) -> None:
    """A wrong token is refused at the handshake, a wrong key fails the session key check."""
    appliance = stack.dehumidifier
    wrong_token = _device(appliance, token="00" * 64)
    close_devices(wrong_token)
    assert not await asyncio.to_thread(wrong_token.connect, True)
    wrong_key = _device(appliance, key="00" * 32)
    close_devices(wrong_key)
    assert not await asyncio.to_thread(wrong_key.connect, True)


async def test_midea_beautiful_air_reads_and_sets(
    stack: MideaStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """midea-beautiful-air discovers the dehumidifier, reads it and sets its target humidity."""
    monkeypatch.setattr(beautiful_midea, "DISCOVERY_PORTS", [stack.discovery_port])
    monkeypatch.setattr(beautiful_lan, "DISCOVERY_PORTS", [stack.discovery_port])
    appliance = stack.dehumidifier
    appliance.tank = 30

    def read_and_set() -> Any:
        device = beautiful_lan.appliance_state(
            address="127.0.0.1", token=appliance.token, key=appliance.key, retries=1, timeout=3
        )
        read = (device.state.target_humidity, device.state.current_humidity)
        device.state.target_humidity = 45
        device.apply()
        device._disconnect()
        return device, read

    device, read = await asyncio.to_thread(read_and_set)
    assert device.appliance_id == str(appliance.appliance_id)
    assert device.type == "0xa1"
    assert device.firmware_version == "3.0.8"
    assert read == (50, 62)
    assert appliance.target_humidity == 45


async def test_cloud_login_list_and_tokens(stack: MideaStack) -> None:
    """midea-local's NetHome Plus client logs in, lists the account and fetches token/key."""
    stack.account.refuse_token.add(stack.air_conditioner.appliance_id)
    async with aiohttp.ClientSession() as session:
        cloud = get_midea_cloud("NetHome Plus", session, ACCOUNT, PASSWORD)
        cloud._api_url = stack.cloud.url
        assert await cloud.login()
        appliances = await cloud.list_appliances(None)
        assert appliances is not None
        assert appliances[stack.dehumidifier.appliance_id]["name"] == "Cellar"
        assert appliances[stack.dehumidifier.appliance_id]["model_number"] == 41377
        keys = await cloud.get_cloud_keys(stack.dehumidifier.appliance_id)
        assert keys[1] == {"token": stack.dehumidifier.token, "key": stack.dehumidifier.key}
        wrong = get_midea_cloud("NetHome Plus", session, ACCOUNT, "wrong")
        wrong._api_url = stack.cloud.url
        with pytest.raises(CloudLoginError):
            await wrong.login()
    assert stack.cloud.requests[:3] == [
        "/v1/user/login/id/get",
        "/v1/user/login",
        "/v1/appliance/user/list/get",
    ]


def test_frame_helpers() -> None:
    """The AA frame checksum and body CRC match midea-local's captured frames."""
    query = bytes.fromhex("aa20a100000000000303418100ff" + "00" * 16 + "01abcc")
    assert crc8(query[10:-2]) == query[-2]
    assert aa_frame(0xA1, 0x03, query[10:-1]) == query


async def test_command_line(socket_enabled: None) -> None:
    """``python -m emulators.midea`` starts both appliances and the cloud and says where."""
    import json
    import signal
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulators.midea",
        "--refuse-token",
        "air_conditioner",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        lines = [json.loads(await asyncio.wait_for(process.stdout.readline(), 30))]
        lines += [json.loads(await asyncio.wait_for(process.stdout.readline(), 30))]
        lines += [json.loads(await asyncio.wait_for(process.stdout.readline(), 30))]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert [line.get("appliance") for line in lines[:2]] == ["dehumidifier", "air_conditioner"]
    assert len(lines[0]["token"]) == 128
    assert lines[2]["cloud"].startswith("http://127.0.0.1:")
    assert process.returncode == 0
