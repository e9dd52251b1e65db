"""Regression tests for the hostile-input defects of issue 14, each against the real part.

Every test sends the issue's exact input: to the Meross integration through its TLS mosquitto
(as any client on the account's topic could), to the MQTT bridge through a real mosquitto and an
independent paho client, to the INDI client and coordinator through the indipydriver emulator,
to the MaxSmart client through its emulator, and to the INDI stream splitter directly.
"""

import asyncio
import json
import logging
import math
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.vendors.indi.client import IndiClient, IndiError
from custom_components.switchboard.vendors.indi.protocol import IndiStreamSplitter
from custom_components.switchboard.vendors.maxsmart.client import (
    MaxSmartClient,
    MaxSmartResponseError,
)
from custom_components.switchboard.vendors.meross.mqtt import MerossMqttClient
from emulators.indi import PLUG, IndiEmulator
from emulators.maxsmart import MaxSmartEmulator
from emulators.mosquitto import Mosquitto
from tests.bridge.conftest import STRIP_TOPIC, UserClient, bridge_of, wait_connected
from tests.bridge.test_family_actions import MEROSS_PLUG_TOPIC, PLUG_TOPIC
from tests.meross.conftest import EMAIL, MerossEnv

HOSTILE_MEROSS_MESSAGES = [
    # TypeError in the signature check: a non-ASCII signature.
    json.dumps(
        {
            "header": {
                "messageId": "a" * 32,
                "timestamp": 1,
                "sign": "é",
                "method": "PUSH",
                "namespace": "Appliance.Control.ToggleX",
            },
            "payload": {},
        }
    ).encode(),
    # OverflowError: int(1e400).
    b'{"header": {"messageId": "x", "timestamp": 1e400, "sign": "0", "method": "PUSH", '
    b'"namespace": "Appliance.Control.ToggleX"}, "payload": {}}',
    # UnicodeEncodeError: a lone surrogate cannot be signed.
    b'{"header": {"messageId": "\\ud800", "timestamp": 1, "sign": "0", "method": "PUSH", '
    b'"namespace": "Appliance.Control.ToggleX"}, "payload": {}}',
    # RecursionError in the JSON decoder.
    b"[" * 70_000,
]


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


async def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


# ----------------------------------------------------------------------- 1. Meross push


async def test_meross_hostile_messages_are_dropped_and_push_lives(
    hass: HomeAssistant,
    meross_bridged: MockConfigEntry,
    meross: MerossEnv,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each message of the issue is dropped and counted; push goes on; the entry unloads."""
    caplog.set_level(logging.DEBUG, logger="custom_components.switchboard")
    account = meross_bridged.runtime_data.runtime.account
    await _wait_for(lambda: account.brokers.connected(meross.plug.uuid))
    mqtt = account.brokers.client(meross.plug.uuid)
    assert mqtt is not None
    plug_state = meross_bridged.runtime_data.runtime.coordinator_for_device(meross.plug.uuid)
    assert plug_state is not None
    before = mqtt.dropped_messages
    for payload in HOSTILE_MEROSS_MESSAGES:
        await meross.plug.publish_raw(f"/app/{meross.account.user_id}/subscribe", payload)
    await _wait_for(lambda: mqtt.dropped_messages == before + len(HOSTILE_MEROSS_MESSAGES))
    assert mqtt.connected
    assert mqtt.connect_count == 1
    diagnostics = await async_get_config_entry_diagnostics(hass, meross_bridged)
    [mqtt_diagnostics] = diagnostics["family"]["mqtt"]["connections"]
    assert mqtt_diagnostics["dropped_messages"] == before + len(HOSTILE_MEROSS_MESSAGES)
    assert mqtt_diagnostics["task_failures"] == 0
    dropped = [r for r in caplog.records if r.getMessage().startswith("Dropped Meross message")]
    assert len(dropped) == len(HOSTILE_MEROSS_MESSAGES)
    assert all(r.levelno == logging.DEBUG and r.exc_info is None for r in dropped)

    # Push still works: a toggle pushed by the plug reaches the coordinator without a poll.
    coordinator = meross_bridged.runtime_data.runtime.coordinator_for_device(meross.plug.uuid)
    meross.plug.onoff[0] = 0
    await meross.plug.push_toggle(True)
    await _wait_for(lambda: coordinator.data[meross.plug.uuid].attributes["channel_0_on"].value)
    assert _errors(caplog) == []

    assert await hass.config_entries.async_unload(meross_bridged.entry_id)
    await hass.async_block_till_done()
    assert meross_bridged.state is ConfigEntryState.NOT_LOADED


async def test_meross_connection_task_restarts_after_any_failure(
    meross_env: MerossEnv, mqtt_client: MerossMqttClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug inside the connection task is logged once and the connection comes back."""
    client = mqtt_client
    # The message loop itself fails once (any exception, not an MQTT error).
    original = client._handle
    calls = 0

    def failing(raw: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("injected bug")
        original(raw)

    with patch.object(client, "_handle", failing):
        await meross_env.plug.push_toggle(True)
        await _wait_for(lambda: client.task_failures == 1 and client.connect_count == 2)
        assert client.connected
    failures = [r for r in caplog.records if "connection task failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    reply = await client.async_get(meross_env.plug.uuid, "Appliance.System.Online")
    assert reply["online"]["status"] == 1


# ------------------------------------------------------------- 2, 3, 8. the MQTT bridge


async def test_bridge_lone_surrogate_gets_an_error_result_and_publishing_goes_on(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``"\\ud800"`` in ``action`` or ``id``: an error result; the publisher survives."""
    bridge = bridge_of(bridged_entry)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge.async_wait_idle()
    user.publish(f"{STRIP_TOPIC}/command", b'{"action": "\\ud800", "id": "\\ud800"}')
    user.publish(f"{STRIP_TOPIC}/command", b'{"action": "turn_off", "args": {"port": 1}, "id": 7}')
    user.publish(f"{STRIP_TOPIC}/command", b'{"action": "turn_on", "id": "\\ud800"}')
    refused = await user.wait_for(
        f"{STRIP_TOPIC}/command/result",
        lambda m: m.json()["id"] is None and m.json()["error"] == "invalid_command",
    )
    assert "Unicode" in refused.json()["reason"]
    assert (await user.result(STRIP_TOPIC, 7))["status"] == "ok"
    await _wait_for(lambda: len(user.received(f"{STRIP_TOPIC}/command/result")) == 3)
    results = [m.json() for m in user.received(f"{STRIP_TOPIC}/command/result")]
    assert [r["status"] for r in results if r["id"] is None] == ["error", "error"]

    # Any one publish that fails (here: a payload that cannot be encoded) is dropped and
    # counted; the worker goes on with everything after it.
    bridge._queue(None, f"{STRIP_TOPIC}/broken", "\ud800")
    user.command(STRIP_TOPIC, "turn_on", {"port": 1}, "after")
    assert (await user.result(STRIP_TOPIC, "after"))["status"] == "ok"
    await bridge.async_wait_idle()
    assert bridge.stats.failed_publishes == 1
    assert strip.switch[0] is True
    await user.wait_for(f"{STRIP_TOPIC}/port_1_on", lambda m: m.payload == "true")


async def test_bridge_deep_nesting_and_bounds(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    user: UserClient,
    strip: MaxSmartEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """65,000 levels, 40 levels, a 1 MB id, ports ``true`` and ``2.7``: error results only."""
    bridge = bridge_of(bridged_entry)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    topic = f"{STRIP_TOPIC}/command"
    user.publish(topic, b'{"action": "turn_off", "args": {"port": ' + b"[" * 65_000 + b"1")
    user.publish(topic, b'{"action": "turn_off", "args": {"port": ' + b"[" * 65_000 + b"]}}")
    deep = {"action": "turn_off", "id": "deep", "args": {"port": 1}}
    nested: Any = 1
    for _ in range(40):
        nested = [nested]
    deep["args"] = {"port": nested}
    user.publish(topic, json.dumps(deep))
    user.publish(topic, json.dumps({"action": "turn_off", "args": {"port": 1}, "id": "x" * 2**20}))
    user.command(STRIP_TOPIC, "turn_off", {"port": True}, "bool")
    user.command(STRIP_TOPIC, "turn_off", {"port": 2.7}, "float")
    user.command(STRIP_TOPIC, "turn_off", {"port": 3}, "ok")
    assert (await user.result(STRIP_TOPIC, "ok"))["status"] == "ok"
    await _wait_for(lambda: len(user.received(f"{STRIP_TOPIC}/command/result")) == 7)
    results = {m.json()["id"]: m.json() for m in user.received(f"{STRIP_TOPIC}/command/result")}
    assert results["deep"]["error"] == "invalid_command"
    assert "nested" in results["deep"]["reason"]
    assert results["bool"]["error"] == results["float"]["error"] == "invalid_action_args"
    anonymous = [
        m.json() for m in user.received(f"{STRIP_TOPIC}/command/result") if m.json()["id"] is None
    ]
    assert sorted(r["error"] for r in anonymous) == [
        "invalid_command",  # the 1 MB id
        "invalid_json",  # unfinished
        "invalid_json",  # 65,000 levels
    ]
    assert all(len(m.payload) < 1024 for m in user.received(f"{STRIP_TOPIC}/command/result"))
    assert all(len(key[1]) <= 130 for key in bridge._recent)
    assert strip.switch[:2] == [True, True]  # ports 1 and 2 untouched
    assert strip.switch[2] is False
    assert _errors(caplog) == []

    # Refused commands release their id: the corrected command with the same id runs.
    user.command(STRIP_TOPIC, "turn_off", {"port": 1}, "bool")
    await _wait_for(
        lambda: any(
            m.json()["id"] == "bool" and m.json()["status"] == "ok"
            for m in user.received(f"{STRIP_TOPIC}/command/result")
        )
    )
    assert strip.switch[0] is False


async def test_bridge_resubscribes_before_announcing_availability(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    broker: Mosquitto,
    user: UserClient,
    strip: MaxSmartEmulator,
) -> None:
    """After a broker restart a command sent on ``online`` is delivered the first time."""
    bridge = bridge_of(bridged_entry)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge.async_wait_idle()
    for attempt in range(3):
        await broker.stop()
        await wait_connected(hass, False)
        user.clear()
        await broker.start()
        await user.wait_subscribed()
        await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
        # The bridge only says online once its command subscription is back: no retry needed.
        user.command(STRIP_TOPIC, "turn_off" if attempt % 2 else "turn_on", {"port": 4}, attempt)
        assert (await user.result(STRIP_TOPIC, attempt, timeout=5))["status"] == "ok"


# ------------------------------------------------------------------------ 4, 5. INDI


async def test_indi_client_refuses_non_finite_numbers(indi: IndiEmulator) -> None:
    """inf, nan and huge integers are IndiError (a ValueError inside), never OverflowError."""
    client = IndiClient("127.0.0.1", indi.port, on_event=lambda _event: None, reconnect_min=0.05)
    task = asyncio.create_task(client.async_run())
    try:
        await _wait_for(lambda: (PLUG, "TARGET") in client.vectors)
        for value in (math.inf, -math.inf, math.nan, 10**400, "inf", "Infinity", "nan"):
            with pytest.raises(IndiError, match="LEVEL"):
                await client.async_command(PLUG, "TARGET", {"LEVEL": value}, 1)
        result = await client.async_command(PLUG, "TARGET", {"LEVEL": 20}, 5)
        assert result.members["LEVEL"].value == 20.0
        assert not client._waiters
    finally:
        await client.async_close()
        await task


async def test_indi_infinity_over_the_bridge_releases_the_id(
    hass: HomeAssistant, indi_bridged: MockConfigEntry, user: UserClient, indi: IndiEmulator
) -> None:
    """``Infinity``: an error result, nothing sent; a valid retry with the same id runs."""
    await user.wait_for(f"{PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    topic = f"{PLUG_TOPIC}/command"
    sent = [e for e in indi.received if e.tag.startswith("new")]
    user.publish(
        topic,
        b'{"action": "set_value", "id": "level", '
        b'"args": {"vector": "TARGET", "member": "LEVEL", "value": Infinity}}',
    )
    result = await user.result(PLUG_TOPIC, "level")
    assert (result["status"], result["error"]) == ("error", "invalid_action_args")
    user.publish(
        topic,
        b'{"action": "set_vector", "id": "vector", '
        b'"args": {"vector": "TARGET", "members": {"LEVEL": 1e400}}}',
    )
    assert (await user.result(PLUG_TOPIC, "vector"))["error"] == "invalid_action_args"
    assert [e for e in indi.received if e.tag.startswith("new")] == sent
    user.command(
        PLUG_TOPIC, "set_value", {"vector": "TARGET", "member": "LEVEL", "value": 30}, "level"
    )
    await user.wait_for(
        f"{PLUG_TOPIC}/command/result",
        lambda m: m.json()["id"] == "level" and m.json()["status"] == "ok",
    )
    assert float(indi.vector(PLUG, "TARGET")["LEVEL"]) == 30.0


async def test_coordinator_treats_any_validation_failure_as_invalid_input(
    hass: HomeAssistant, indi_bridged: MockConfigEntry, indi: IndiEmulator
) -> None:
    """A huge integer timeout (OverflowError in Coerce(float)) is a translated validation error."""
    plug_id = f"127.0.0.1:{indi.port}/{PLUG}"
    coordinator = indi_bridged.runtime_data.runtime.coordinator_for_device(plug_id)
    await _wait_for(lambda: coordinator.data[plug_id].available)
    for args in (
        {"vector": "TARGET", "members": {"LEVEL": 1}, "timeout": 10**400},
        {"vector": "TARGET", "members": {"LEVEL": 10**400}},
        {"vector": "TARGET", "members": {"LEVEL": math.inf}},
    ):
        with pytest.raises(ServiceValidationError) as err:
            await coordinator.async_execute(plug_id, "set_vector", args)
        assert err.value.translation_key == "invalid_action_args"


# -------------------------------------------------------------------------- 6. MaxSmart


async def test_maxsmart_huge_integer_is_a_response_error(
    strip: MaxSmartEmulator, session: aiohttp.ClientSession
) -> None:
    """A 400-digit integer in a reply raises the client's response error, not OverflowError."""
    client = MaxSmartClient(session, "127.0.0.1", strip.http_port)
    huge = b"1" + b"0" * 400
    strip.faults.body = (
        b'{"response": 511, "code": 200, "data": {"switch": [1], "watt": ['
        + huge
        + b'], "amp": [0]}}'
    )
    with pytest.raises(MaxSmartResponseError, match="watt"):
        await client.async_get_reading()
    strip.faults.clear()
    reading = await client.async_get_reading()
    assert len(reading.switch) == 6


# --------------------------------------------------------------------- 7. INDI splitter


@pytest.mark.parametrize(
    "opening", [b'<defTextVector device="', b"<!--", b"<![CDATA[", b"<?", b"<defTextVector "]
)
def test_indi_splitter_bounds_unfinished_top_level_markup(opening: bytes) -> None:
    """64 MB of one unfinished tag/comment past a 1 MiB limit: held back at most 1 MiB."""
    limit = 1024 * 1024
    splitter = IndiStreamSplitter(max_element_size=limit)
    good = b'<message device="a" message="before"/>'
    assert splitter.feed(good + opening) == [good]
    chunk = b"a" * 65536
    most = 0
    for _ in range(1024):  # 64 MiB
        assert splitter.feed(chunk) == []
        most = max(most, splitter.buffered)
    assert most <= limit + len(chunk)
    assert splitter.skipped >= 1
    # The stream resynchronises on the next element.
    after = b'<message device="a" message="after"/>'
    assert splitter.feed(b'">x-->]]>?>\n' + after) == [after]


# ------------------------------------------------------------- 8. e-mail and user id


async def test_meross_email_and_user_id_stay_out_of_logs_diagnostics_and_topics(
    hass: HomeAssistant,
    meross_bridged: MockConfigEntry,
    meross: MerossEnv,
    user: UserClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Title, INFO/DEBUG lines, diagnostics (keys too) and bridge topics: no e-mail, no user id."""
    caplog.set_level(logging.DEBUG)
    user_id = meross.account.user_id
    # An entry made when the title was the e-mail address gets a masked one.
    assert meross_bridged.title == "Meross m***@example.com"
    options = dict(meross_bridged.options)
    options["mqtt_bridge"] = {**options["mqtt_bridge"], "discovery": True}
    hass.config_entries.async_update_entry(meross_bridged, options=options)
    assert await hass.config_entries.async_reload(meross_bridged.entry_id)
    await hass.async_block_till_done()
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    await meross.plug.push_toggle(True)
    await bridge_of(meross_bridged).async_wait_idle()
    diagnostics = await async_get_config_entry_diagnostics(hass, meross_bridged)
    assert diagnostics["entry"]["title"] == "**REDACTED**"
    text = json.dumps(diagnostics)
    topics = [message.topic for message in user.received()]
    assert any(topic.startswith("homeassistant/device/switchboard_") for topic in topics)
    # The fixture's entry was set up with the e-mail address as its title, as entries made
    # before titles were masked; Home Assistant itself names the setup task after it. From
    # the reload on (the masked title), nothing at all may carry it.
    records = [
        r for r in caplog.get_records("setup") if r.name.startswith("custom_components")
    ] + caplog.get_records("call")
    assert any("MQTT bridge of Meross m***@example.com started" in r.getMessage() for r in records)
    for secret in (EMAIL, user_id):
        assert secret not in text
        assert not [topic for topic in topics if secret in topic]
        assert not [r.getMessage() for r in records if secret in r.getMessage()]
