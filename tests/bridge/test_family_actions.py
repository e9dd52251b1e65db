"""Every action of the INDI and Meross families through the MQTT bridge, against a real broker.

Commands go from the independent paho client (``user``) to ``<base>/<area>/<device>/command``
on a real mosquitto, through Home Assistant's mqtt integration into the bridge; results are
read back from ``.../command/result``. The peers are the families' own emulators (INDI: the
indipydriver emulator, plus one test on the real ``indiserver`` simulators; Meross: the emulated
cloud, its TLS mosquitto and emulated devices). The fixtures of ``tests/indi`` and
``tests/meross`` live in other test packages, so the fixtures here wrap the same peer
helpers (``run_indiserver``, ``meross_broker``, ``meross_account``) those packages use.
"""

from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import patch
import xml.etree.ElementTree as ET

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import CONF_FAMILY, DOMAIN
from custom_components.switchboard.export.mqtt.bridge import (
    CONF_BASE_TOPIC,
    CONF_BRIDGE,
    CONF_BRIDGE_ENABLED,
    CONF_DISCOVERY,
)
from custom_components.switchboard.vendors.meross.client import MerossCloud
from custom_components.switchboard.vendors.meross.const import (
    CONF_API_BASE_URL,
    CONF_CREDENTIALS,
    CONF_EMAIL,
    CONF_MAX_REQUESTS,
    CONF_VERIFY_SSL,
)
from emulators.indi import LAMP, PLUG, IndiEmulator
from emulators.meross import (
    MerossEmulatedDevice,
)
from tests.indi.conftest import run_indiserver
from tests.meross.conftest import (
    EMAIL,
    PASSWORD,
    VALVE_ID,
    MerossEnv,
    meross_account,
    meross_broker,
)

from .conftest import BASE, UserClient, bridge_of

BRIDGE_OPTIONS = {
    CONF_BRIDGE: {CONF_BRIDGE_ENABLED: True, CONF_BASE_TOPIC: BASE, CONF_DISCOVERY: False}
}
PLUG_TOPIC = f"{BASE}/unassigned/switchboard_plug"
LAMP_TOPIC = f"{BASE}/unassigned/switchboard_lamp"
CCD_TOPIC = f"{BASE}/unassigned/ccd_simulator"

MEROSS_PLUG_TOPIC = f"{BASE}/unassigned/desk_plug"
MEROSS_STRIP_TOPIC = f"{BASE}/unassigned/media_strip"
MEROSS_THERMOSTAT_TOPIC = f"{BASE}/unassigned/hall_thermostat"
MEROSS_VALVE_TOPIC = f"{BASE}/unassigned/radiator"


async def run(
    user: UserClient, topic: str, action: str, args: dict[str, Any], command_id: str
) -> dict[str, Any]:
    """Send one command from the user's client and return its result."""
    user.command(topic, action, args, command_id)
    return await user.result(topic, command_id)


async def run_ok(
    user: UserClient, topic: str, action: str, args: dict[str, Any], command_id: str
) -> dict[str, Any]:
    """Send a command that must succeed; return the device-confirmed attributes."""
    result = await run(user, topic, action, args, command_id)
    assert result["status"] == "ok", result
    assert result["action"] == action
    assert result["id"] == command_id
    assert result["state"]["available"] is True
    attributes: dict[str, Any] = result["state"]["attributes"]
    return attributes


# ------------------------------------------------------------------------------------ INDI


def indi_entry(port: int) -> MockConfigEntry:
    """An INDI server entry (every device) with the bridge on."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"INDI 127.0.0.1:{port}",
        unique_id=f"127.0.0.1:{port}",
        data={CONF_FAMILY: "indi", "host": "127.0.0.1", "port": port, "devices": []},
        options=BRIDGE_OPTIONS,
    )


@pytest.fixture
async def indi(socket_enabled: None) -> AsyncGenerator[IndiEmulator]:
    """The indipydriver emulator (plug and lamp) on a free loopback port."""
    emulator = IndiEmulator("127.0.0.1", 0, command_delay=0.05)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def indi_bridged(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, indi: IndiEmulator
) -> AsyncGenerator[MockConfigEntry]:
    """The emulator's INDI entry with the bridge on, set up after Home Assistant's mqtt."""
    entry = indi_entry(indi.port)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)


def sent_new_vectors(emulator: IndiEmulator) -> list[ET.Element]:
    """Every newXXXVector a client sent to the emulator so far."""
    return [element for element in emulator.received if element.tag.startswith("new")]


async def test_indi_actions(
    hass: HomeAssistant, indi_bridged: MockConfigEntry, user: UserClient, indi: IndiEmulator
) -> None:
    """Each allow-listed INDI action: the ok result carries the device-confirmed state."""
    plug_id = f"127.0.0.1:{indi.port}/{PLUG}"
    coordinator = indi_bridged.runtime_data.runtime.coordinator_for_device(plug_id)
    assert coordinator is not None
    # The emulated devices have no cooled CCD: exactly these five are allow-listed.
    assert set(coordinator.actions(plug_id)) == {
        "set_vector",
        "turn_on",
        "turn_off",
        "set_value",
        "select_option",
    }
    await user.wait_for(f"{PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    await user.wait_for(f"{LAMP_TOPIC}/availability", lambda m: m.payload == "online")
    power = indi.vector(PLUG, "POWER")
    outlets = indi.vector(PLUG, "OUTLETS")

    # turn_on / turn_off of an ON/OFF vector: the matching member goes On.
    attributes = await run_ok(
        user, PLUG_TOPIC, "turn_on", {"vector": "POWER", "member": "ON"}, "p1"
    )
    assert (attributes["POWER.ON"], attributes["POWER.OFF"]) == (True, False)
    assert attributes["POWER.state"] == "Ok"
    assert (power["ON"], power["OFF"]) == ("On", "Off")
    result = await run(user, PLUG_TOPIC, "turn_off", {"vector": "POWER", "member": "ON"}, "p0")
    assert result["device"] == plug_id
    assert (result["state"]["attributes"]["POWER.ON"], power["OFF"]) == (False, "On")

    # turn_on / turn_off of one member of an AnyOfMany vector: only that member changes.
    attributes = await run_ok(
        user, PLUG_TOPIC, "turn_on", {"vector": "OUTLETS", "member": "OUTLET2"}, "o2"
    )
    assert [attributes[f"OUTLETS.OUTLET{i}"] for i in (1, 2, 3)] == [False, True, False]
    assert [outlets[f"OUTLET{i}"] for i in (1, 2, 3)] == ["Off", "On", "Off"]
    attributes = await run_ok(
        user, PLUG_TOPIC, "turn_off", {"vector": "OUTLETS", "member": "OUTLET2"}, "o2-off"
    )
    assert attributes["OUTLETS.OUTLET2"] is False
    assert outlets["OUTLET2"] == "Off"

    # The lamp's CONNECTION goes Busy first; the result waits for the device's Ok.
    attributes = await run_ok(
        user, LAMP_TOPIC, "turn_on", {"vector": "CONNECTION", "member": "CONNECT"}, "lamp"
    )
    assert attributes["CONNECTION.CONNECT"] is True
    assert attributes["CONNECTION.state"] == "Ok"
    assert indi.vector(LAMP, "CONNECTION")["CONNECT"] == "On"

    # select_option by the member's label.
    attributes = await run_ok(
        user, LAMP_TOPIC, "select_option", {"vector": "CONNECTION", "option": "Disconnect"}, "sel"
    )
    assert (attributes["CONNECTION.CONNECT"], attributes["CONNECTION.DISCONNECT"]) == (False, True)
    assert indi.vector(LAMP, "CONNECTION")["DISCONNECT"] == "On"

    # set_value: a number member (the string is coerced by the schema).
    attributes = await run_ok(
        user, PLUG_TOPIC, "set_value", {"vector": "TARGET", "member": "LEVEL", "value": "75"}, "v"
    )
    assert attributes["TARGET.LEVEL"] == 75.0
    assert attributes["TARGET.state"] == "Ok"
    assert float(indi.vector(PLUG, "TARGET")["LEVEL"]) == 75.0
    number = sent_new_vectors(indi)[-1]
    assert (number.tag, number.get("name")) == ("newNumberVector", "TARGET")
    await user.wait_for(f"{PLUG_TOPIC}/TARGET.LEVEL", lambda m: m.json() == 75.0)
    attributes = await run_ok(
        user, LAMP_TOPIC, "set_value", {"vector": "BRIGHTNESS", "member": "VALUE", "value": 12}, "b"
    )
    assert attributes["BRIGHTNESS.VALUE"] == 12.0

    # set_vector: a text vector, and several switch members at once (bool or On/Off).
    attributes = await run_ok(
        user, PLUG_TOPIC, "set_vector", {"vector": "LABEL", "members": {"NAME": "Bench"}}, "t"
    )
    assert attributes["LABEL.NAME"] == "Bench"
    assert indi.vector(PLUG, "LABEL")["NAME"] == "Bench"
    attributes = await run_ok(
        user,
        PLUG_TOPIC,
        "set_vector",
        {"vector": "OUTLETS", "members": {"OUTLET1": True, "OUTLET3": "On"}, "timeout": 5},
        "sv",
    )
    assert [attributes[f"OUTLETS.OUTLET{i}"] for i in (1, 2, 3)] == [True, False, True]
    assert [outlets[f"OUTLET{i}"] for i in (1, 2, 3)] == ["On", "Off", "On"]
    await user.wait_for(f"{PLUG_TOPIC}/LABEL.NAME", lambda m: m.payload == "Bench")


async def test_indi_alert_and_bad_args(
    hass: HomeAssistant, indi_bridged: MockConfigEntry, user: UserClient, indi: IndiEmulator
) -> None:
    """An Alert reply is an error result with the device's reason; bad args never reach it."""
    await user.wait_for(f"{PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    target = indi.vector(PLUG, "TARGET")

    result = await run(
        user, PLUG_TOPIC, "set_value", {"vector": "TARGET", "member": "LEVEL", "value": 95}, "alert"
    )
    assert result["status"] == "error"
    assert result["error"] == "indi_alert"
    assert "TARGET" in result["reason"]
    assert "Level above 90 refused" in result["reason"]
    assert float(target["LEVEL"]) == 50.0
    await user.wait_for(f"{PLUG_TOPIC}/TARGET.state", lambda m: m.payload == "Alert")

    sent = len(sent_new_vectors(indi))
    refused: list[tuple[str, dict[str, Any], str]] = [
        (
            "set_value",
            {"vector": "TARGET", "member": "LEVEL", "value": "high"},
            "invalid_action_args",
        ),
        ("set_value", {"vector": "TARGET", "value": 10}, "invalid_action_args"),
        ("turn_on", {"member": "ON"}, "invalid_action_args"),
        ("turn_off", {"vector": "POWER", "member": "ON", "extra": 1}, "invalid_action_args"),
        ("set_vector", {"vector": "LABEL", "members": {}}, "invalid_action_args"),
        ("set_vector", {"vector": "LABEL", "members": {"NAME": ["x"]}}, "invalid_action_args"),
        (
            "set_vector",
            {"vector": "LABEL", "members": {"NAME": "x"}, "timeout": 601},
            "invalid_action_args",
        ),
        ("select_option", {"vector": "POWER"}, "invalid_action_args"),
        ("select_option", {"vector": "POWER", "option": "Maybe"}, "indi_unknown_vector"),
        ("turn_on", {"vector": "NOPE", "member": "ON"}, "indi_unknown_vector"),
        ("set_temperature", {"temperature": -10}, "unknown_action"),
        ("set_hvac_mode", {"hvac_mode": "cool"}, "unknown_action"),
    ]
    for index, (action, args, error) in enumerate(refused):
        result = await run(user, PLUG_TOPIC, action, args, f"bad-{index}")
        assert result["status"] == "error", (action, args)
        assert result["error"] == error, (action, args, result)
        assert result["reason"]
        assert result["action"] == action
    assert len(sent_new_vectors(indi)) == sent
    assert float(target["LEVEL"]) == 50.0
    assert indi.vector(PLUG, "LABEL")["NAME"] == "Desk"


async def test_indi_attributes_retained(
    hass: HomeAssistant, indi_bridged: MockConfigEntry, user: UserClient, indi: IndiEmulator
) -> None:
    """An INDI device's attributes are retained under its topic (a late client gets them)."""
    await user.wait_for(f"{PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge_of(indi_bridged).async_wait_idle()
    retained = await user.retained(PLUG_TOPIC)
    assert retained[f"{PLUG_TOPIC}/availability"] == "online"
    assert retained[f"{PLUG_TOPIC}/METER.WATTS"] == "12.5"
    assert retained[f"{PLUG_TOPIC}/METER.VOLTS"] == "230.0"
    assert retained[f"{PLUG_TOPIC}/INFO.SERIAL"] == "SB-0001"
    assert retained[f"{PLUG_TOPIC}/POWER.ON"] == "false"
    assert retained[f"{PLUG_TOPIC}/STATUS.POWER_LED"] == "Ok"
    state = indi_bridged.runtime_data.runtime.devices()[f"127.0.0.1:{indi.port}/{PLUG}"][1]
    assert {key for key in retained if not key.endswith("/availability")} == {
        f"{PLUG_TOPIC}/{key}" for key in state.attributes
    }


@pytest.fixture
def indiserver(socket_enabled: None) -> Generator[int]:
    """The real ``indiserver`` with the C++ simulators on a free port; yields the port."""
    with run_indiserver() as port:
        yield port


async def test_indi_ccd_cooler_actions_on_real_simulator(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, user: UserClient, indiserver: int
) -> None:
    """The real CCD simulator: connect it, then the cooler's set_hvac_mode / set_temperature."""
    entry = indi_entry(indiserver)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await user.wait_for(f"{CCD_TOPIC}/availability", lambda m: m.payload == "online")
    attributes = await run_ok(
        user, CCD_TOPIC, "turn_on", {"vector": "CONNECTION", "member": "CONNECT"}, "connect"
    )
    assert attributes["CONNECTION.CONNECT"] is True
    # Defined on connection: the cooler's actions join the allow-list.
    await user.wait_for(f"{CCD_TOPIC}/ccd.hvac_mode", lambda m: m.payload == "off")
    ccd_id = f"127.0.0.1:{indiserver}/CCD Simulator"
    coordinator = entry.runtime_data.runtime.coordinator_for_device(ccd_id)
    assert coordinator is not None
    assert {"set_temperature", "set_hvac_mode"} <= set(coordinator.actions(ccd_id))

    # The simulator keeps CCD_COOLER Busy while it regulates, so the result of a cooler switch
    # comes when the command timeout (10 s, shortened here) ends, with the values it pushed.
    with patch("custom_components.switchboard.vendors.indi.source.COMMAND_TIMEOUT", 1.0):
        attributes = await run_ok(user, CCD_TOPIC, "set_hvac_mode", {"hvac_mode": "cool"}, "cool")
    assert attributes["ccd.hvac_mode"] == "cool"
    assert (attributes["CCD_COOLER.COOLER_ON"], attributes["CCD_COOLER.COOLER_OFF"]) == (
        True,
        False,
    )
    current = attributes["CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE"]
    # set_temperature waits for CCD_TEMPERATURE's Ok, i.e. until the sensor reached the target.
    attributes = await run_ok(
        user, CCD_TOPIC, "set_temperature", {"temperature": current - 0.5}, "temp"
    )
    assert attributes["ccd.target"] == current - 0.5
    assert attributes["CCD_TEMPERATURE.state"] == "Ok"
    assert attributes["CCD_TEMPERATURE.CCD_TEMPERATURE_VALUE"] == pytest.approx(current - 0.5)
    await user.wait_for(f"{CCD_TOPIC}/ccd.target", lambda m: m.json() == current - 0.5)
    result = await run(user, CCD_TOPIC, "set_hvac_mode", {"hvac_mode": "heat"}, "heat")
    assert result["error"] == "invalid_action_args"
    with patch("custom_components.switchboard.vendors.indi.source.COMMAND_TIMEOUT", 1.0):
        attributes = await run_ok(user, CCD_TOPIC, "set_hvac_mode", {"hvac_mode": "off"}, "off")
    assert attributes["ccd.hvac_mode"] == "off"
    assert (attributes["CCD_COOLER.COOLER_ON"], attributes["CCD_COOLER.COOLER_OFF"]) == (
        False,
        True,
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


# ------------------------------------------------------------------------------------ Meross


@pytest.fixture
async def meross(socket_enabled: None) -> AsyncGenerator[MerossEnv]:
    """The emulated cloud with one account (plug, strip, thermostat, hub + valve) on its TLS
    mosquitto."""
    async with meross_broker() as broker, meross_account(broker) as env:
        yield env


@pytest.fixture
async def meross_bridged(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, meross: MerossEnv
) -> AsyncGenerator[MockConfigEntry]:
    """The account's entry (as the config flow creates it) with the bridge on."""
    credentials = await MerossCloud(async_get_clientsession(hass), meross.cloud.url).async_login(
        EMAIL, PASSWORD
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=EMAIL,
        unique_id=credentials.user_id,
        data={
            CONF_FAMILY: "meross",
            CONF_EMAIL: EMAIL,
            CONF_API_BASE_URL: meross.cloud.url,
            CONF_VERIFY_SSL: False,
            CONF_CREDENTIALS: credentials.as_dict(),
        },
        # Every command here is followed by a poll: lift the account's request limit (default
        # 60/min after a burst of 20) so the limiter does not pace this test.
        options={**BRIDGE_OPTIONS, CONF_MAX_REQUESTS: 600},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def sets(device: MerossEmulatedDevice) -> list[tuple[str, str, dict[str, Any]]]:
    """The SET requests the emulated device received."""
    return [request for request in device.requests if request[0] == "SET"]


async def test_meross_actions(
    hass: HomeAssistant, meross_bridged: MockConfigEntry, user: UserClient, meross: MerossEnv
) -> None:
    """Channel switching; temperature, HVAC mode and preset of the MTS200 and MTS100."""
    plug, strip, thermostat, hub = meross.plug, meross.strip, meross.thermostat, meross.hub
    valve_id = f"{hub.uuid}-{VALVE_ID.lower()}"
    runtime = meross_bridged.runtime_data.runtime
    declared = {
        device_id: set(coordinator.actions(device_id))
        for device_id, (coordinator, _) in runtime.devices().items()
    }
    assert declared == {
        plug.uuid: {"turn_on", "turn_off", "capture_traffic"},
        strip.uuid: {"turn_on", "turn_off", "capture_traffic"},
        thermostat.uuid: {
            "set_temperature",
            "set_hvac_mode",
            "set_preset_mode",
            "capture_traffic",
        },
        valve_id: {"set_temperature", "set_hvac_mode", "set_preset_mode"},
        hub.uuid: {"capture_traffic"},
        runtime.account.account_id: set(),
    }
    for topic in (
        MEROSS_PLUG_TOPIC,
        MEROSS_STRIP_TOPIC,
        MEROSS_THERMOSTAT_TOPIC,
        MEROSS_VALVE_TOPIC,
    ):
        await user.wait_for(f"{topic}/availability", lambda m: m.payload == "online")

    # Plug: channel 0 (the default).
    result = await run(user, MEROSS_PLUG_TOPIC, "turn_on", {}, "plug-on")
    assert result["status"] == "ok"
    assert result["device"] == plug.uuid
    assert result["state"]["attributes"]["channel_0_on"] is True
    assert plug.onoff[0] == 1
    attributes = await run_ok(user, MEROSS_PLUG_TOPIC, "turn_off", {"channel": 0}, "plug-off")
    assert attributes["channel_0_on"] is False
    assert plug.onoff[0] == 0
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/channel_0_on", lambda m: m.payload == "false")

    # Strip: one outlet, then the master (channel 0) switches every outlet.
    attributes = await run_ok(user, MEROSS_STRIP_TOPIC, "turn_on", {"channel": 2}, "outlet-2")
    assert attributes["channel_2_on"] is True
    assert strip.onoff[2] == 1
    assert [attributes[f"channel_{ch}_on"] for ch in (1, 3, 4)] == [False, False, False]
    # The strip's master (channel 0) is on while any outlet is.
    assert strip.onoff[0] == 1
    assert attributes["channel_0_on"] is True
    attributes = await run_ok(user, MEROSS_STRIP_TOPIC, "turn_on", {"channel": 0}, "master-on")
    assert all(attributes[f"channel_{ch}_on"] for ch in range(5))
    assert all(strip.onoff.values())
    attributes = await run_ok(user, MEROSS_STRIP_TOPIC, "turn_off", {"channel": "0"}, "master-off")
    assert not any(attributes[f"channel_{ch}_on"] for ch in range(5))
    assert not any(strip.onoff.values())
    attributes = await run_ok(user, MEROSS_STRIP_TOPIC, "turn_on", {"channel": 4}, "usb")
    assert (attributes["channel_4_on"], attributes["channel_0_on"]) == (True, True)
    assert (strip.onoff[4], strip.onoff[0]) == (1, 1)
    attributes = await run_ok(user, MEROSS_STRIP_TOPIC, "turn_off", {"channel": 4}, "usb-off")
    assert (attributes["channel_4_on"], attributes["channel_0_on"]) == (False, False)
    assert (strip.onoff[4], strip.onoff[0]) == (0, 0)

    # MTS200: the target of the current (manual) mode, then every HVAC mode.
    attributes = await run_ok(
        user, MEROSS_THERMOSTAT_TOPIC, "set_temperature", {"temperature": 21.5}, "t-21.5"
    )
    assert attributes["target_temperature"] == 21.5
    assert thermostat.mode["manualTemp"] == 215
    for hvac_mode, device_mode in (("cool", 1), ("auto", 3), ("heat", 0)):
        attributes = await run_ok(
            user, MEROSS_THERMOSTAT_TOPIC, "set_hvac_mode", {"hvac_mode": hvac_mode}, hvac_mode
        )
        assert attributes["hvac_mode"] == hvac_mode
        assert (thermostat.mode["onoff"], thermostat.mode["mode"]) == (1, device_mode)
    attributes = await run_ok(
        user, MEROSS_THERMOSTAT_TOPIC, "set_hvac_mode", {"hvac_mode": "off"}, "t-off"
    )
    assert (attributes["hvac_mode"], attributes["hvac_action"]) == ("off", "off")
    assert thermostat.mode["onoff"] == 0

    # MTS100 through the hub.
    valve = hub.valves[VALVE_ID]
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_temperature", {"temperature": 22}, "v-22"
    )
    assert attributes["target_temperature"] == 22.0
    assert valve.custom == 220
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_hvac_mode", {"hvac_mode": "auto"}, "v-auto"
    )
    assert attributes["hvac_mode"] == "auto"
    assert valve.mode == 3
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_hvac_mode", {"hvac_mode": "off"}, "v-off"
    )
    assert (attributes["hvac_mode"], attributes["on"]) == ("off", False)
    assert valve.onoff == 0
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_hvac_mode", {"hvac_mode": "heat"}, "v-heat"
    )
    assert (attributes["hvac_mode"], attributes["on"], attributes["mode"]) == ("heat", True, 0)
    assert (valve.onoff, valve.mode) == (1, 0)
    # In auto, a new target switches the valve back to its custom mode.
    await run_ok(user, MEROSS_VALVE_TOPIC, "set_hvac_mode", {"hvac_mode": "auto"}, "v-auto-2")
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_temperature", {"temperature": 19.5}, "v-19.5"
    )
    assert (attributes["target_temperature"], attributes["hvac_mode"]) == (19.5, "heat")
    assert (valve.custom, valve.mode) == (195, 0)
    await user.wait_for(f"{MEROSS_VALVE_TOPIC}/target_temperature", lambda m: m.json() == 19.5)
    # A preset: the valve's away mode, with its own target.
    attributes = await run_ok(
        user, MEROSS_VALVE_TOPIC, "set_preset_mode", {"preset_mode": "away"}, "v-away"
    )
    assert (attributes["preset"], valve.mode) == ("away", 4)


async def test_meross_bad_args_not_sent(
    hass: HomeAssistant, meross_bridged: MockConfigEntry, user: UserClient, meross: MerossEnv
) -> None:
    """Arguments outside the device's range are refused before anything is sent."""
    await user.wait_for(f"{MEROSS_VALVE_TOPIC}/availability", lambda m: m.payload == "online")
    devices: list[MerossEmulatedDevice] = [meross.plug, meross.strip, meross.thermostat, meross.hub]
    before = [len(sets(device)) for device in devices]
    refused: list[tuple[str, str, dict[str, Any], str]] = [
        (MEROSS_PLUG_TOPIC, "turn_on", {"channel": 1}, "invalid_action_args"),
        (MEROSS_STRIP_TOPIC, "turn_off", {"channel": 5}, "invalid_action_args"),
        (MEROSS_STRIP_TOPIC, "turn_on", {"outlet": 1}, "invalid_action_args"),
        (MEROSS_THERMOSTAT_TOPIC, "set_temperature", {"temperature": 36}, "invalid_action_args"),
        (MEROSS_THERMOSTAT_TOPIC, "set_hvac_mode", {"hvac_mode": "dry"}, "invalid_action_args"),
        (MEROSS_VALVE_TOPIC, "set_hvac_mode", {"hvac_mode": "cool"}, "invalid_action_args"),
        (MEROSS_VALVE_TOPIC, "set_preset_mode", {"preset_mode": "sleep"}, "invalid_action_args"),
        (MEROSS_VALVE_TOPIC, "set_temperature", {}, "invalid_action_args"),
        (MEROSS_VALVE_TOPIC, "turn_on", {}, "unknown_action"),
        (MEROSS_PLUG_TOPIC, "set_temperature", {"temperature": 20}, "unknown_action"),
    ]
    for index, (topic, action, args, error) in enumerate(refused):
        result = await run(user, topic, action, args, f"bad-{index}")
        assert (result["status"], result["error"]) == ("error", error), (topic, action, args)
        assert result["reason"]
    assert [len(sets(device)) for device in devices] == before


async def test_meross_offline_device(
    hass: HomeAssistant, meross_bridged: MockConfigEntry, user: UserClient, meross: MerossEnv
) -> None:
    """A device the cloud reports offline, and one that silently stops answering: error results."""
    plug, strip = meross.plug, meross.strip
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    await plug.set_online(False)
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "offline")
    before = len(sets(plug))
    result = await run(user, MEROSS_PLUG_TOPIC, "turn_on", {}, "offline")
    assert (result["status"], result["error"]) == ("error", "device_unavailable")
    assert "Desk plug" in result["reason"]
    assert len(sets(plug)) == before
    assert plug.onoff[0] == 0

    # The strip loses its connection without the cloud noticing: the request times out.
    await user.wait_for(f"{MEROSS_STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    strip.online = False  # stops answering; no System.Online push
    with patch("custom_components.switchboard.vendors.meross.source.REQUEST_TIMEOUT", 0.5):
        result = await run(user, MEROSS_STRIP_TOPIC, "turn_on", {"channel": 1}, "silent")
    assert (result["status"], result["error"]) == ("error", "command_failed")
    assert "Media strip" in result["reason"]
    assert strip.onoff[1] == 0

    # Back online: the same command goes through.
    await plug.set_online(True)
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    attributes = await run_ok(user, MEROSS_PLUG_TOPIC, "turn_on", {}, "online-again")
    assert attributes["channel_0_on"] is True
    assert plug.onoff[0] == 1


async def test_meross_attributes_retained(
    hass: HomeAssistant, meross_bridged: MockConfigEntry, user: UserClient, meross: MerossEnv
) -> None:
    """A Meross device's attributes are retained under its topic (a late client gets them)."""
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "online")
    await bridge_of(meross_bridged).async_wait_idle()
    retained = await user.retained(MEROSS_PLUG_TOPIC)
    assert retained[f"{MEROSS_PLUG_TOPIC}/availability"] == "online"
    assert retained[f"{MEROSS_PLUG_TOPIC}/channel_0_on"] == "false"
    assert retained[f"{MEROSS_PLUG_TOPIC}/voltage"] == "230.1"
    assert retained[f"{MEROSS_PLUG_TOPIC}/energy_today"] == "0.05"
    state = meross_bridged.runtime_data.runtime.devices()[meross.plug.uuid][1]
    assert {key for key in retained if not key.endswith("/availability")} == {
        f"{MEROSS_PLUG_TOPIC}/{key}" for key in state.attributes
    }
