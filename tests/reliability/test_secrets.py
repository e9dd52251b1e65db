"""No secret leaks: set-up, polls, commands, reauth and failures of every family, logged at DEBUG.

For each family that has secrets, the test runs its life cycle against its real peers with every
logger at DEBUG, then looks for each secret in: the log (every record, formatted), the
diagnostics (keys and values), the repair issues, the service responses and every topic the MQTT
bridge published on a real mosquitto. INDI servers have no credentials (nothing to leak).

Secrets: the Meross password, e-mail address, cloud token (before and after reauth), key (the
message signature secret), MQTT password (``md5(userid + key)``) and user id; the MaxSmart
strip's device key (``sak``, sent in every discovery reply); the Midea account's password (before
and after reauth) and e-mail address, and every appliance's V3 token and key.
"""

import json
import logging
from typing import Any

from homeassistant import config_entries
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.export.mqtt.bridge import CONF_BRIDGE, CONF_DISCOVERY
from custom_components.switchboard.vendors.maxsmart.client import async_discover
from custom_components.switchboard.vendors.meross.protocol import app_mqtt_password
from custom_components.switchboard.vendors.midea.cloud import (
    account_title as midea_account_title,
    async_refresh_account,
)
from emulators.maxsmart import MaxSmartEmulator
from tests.bridge.conftest import STRIP_TOPIC, UserClient, bridge_of
from tests.bridge.test_family_actions import BRIDGE_OPTIONS, MEROSS_PLUG_TOPIC
from tests.maxsmart.conftest import STRIP_SERIAL
from tests.meross.conftest import EMAIL, PASSWORD, MerossEnv
from tests.meross.test_integration import _start_flow, _user_input, _wait_for
from tests.midea.conftest import (
    ACCOUNT as MIDEA_ACCOUNT,
    PASSWORD as MIDEA_PASSWORD,
    MideaStack,
    appliance_record,
)

NEW_PASSWORD = "a new midea password"


def find_leaks(secrets: dict[str, str], places: dict[str, str]) -> list[str]:
    """``"<secret name> in <place>"`` for every secret found in a place's text."""
    return [
        f"{name} in {place}"
        for name, secret in secrets.items()
        for place, text in places.items()
        if secret and secret in text
    ]


def places_text(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    diagnostics: list[dict[str, Any]],
    responses: list[Any],
    user: UserClient,
) -> dict[str, str]:
    """The text of every place a secret must not reach."""
    records = caplog.get_records("setup") + caplog.get_records("call")
    log = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in records
    )
    issues = [
        (issue.domain, issue.issue_id, issue.translation_key, issue.translation_placeholders)
        for issue in ir.async_get(hass).issues.values()
    ]
    return {
        "log": log,
        "diagnostics": json.dumps(diagnostics, default=str),
        "repair issues": json.dumps(issues, default=str),
        "service responses": json.dumps(responses, default=str),
        "bridge topics": "\n".join(message.topic for message in user.received()),
    }


async def test_meross_secrets(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    meross: MerossEnv,
    user: UserClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Meross: sign-in, push, polls, commands, the raw request service, reauth, broker loss."""
    caplog.set_level(logging.DEBUG)
    responses: list[Any] = []
    diagnostics: list[dict[str, Any]] = []

    # Set-up through the config flow (the password is typed in).
    result = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(meross))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    options = {**BRIDGE_OPTIONS, CONF_BRIDGE: {**BRIDGE_OPTIONS[CONF_BRIDGE], CONF_DISCOVERY: True}}
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    tokens = {entry.data["credentials"]["token"]}
    await user.wait_for(f"{MEROSS_PLUG_TOPIC}/availability", lambda m: m.payload == "online")

    # Push, polls, commands (entity and bridge), the raw request service.
    await meross.plug.push_toggle(False)
    for coordinator in runtime.coordinators.values():
        await coordinator.async_refresh()
    switch = next(
        state.entity_id
        for state in hass.states.async_all("switch")
        if state.entity_id.startswith("switch.desk_plug")
    )
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    user.command(MEROSS_PLUG_TOPIC, "turn_off", {"channel": 0}, "secret-test")
    responses.append(await user.result(MEROSS_PLUG_TOPIC, "secret-test"))
    device_id = _device_id(hass, entry, meross.plug.uuid)
    for namespace in ("Appliance.System.All", "Appliance.Control.Electricity"):
        responses.append(
            await hass.services.async_call(
                DOMAIN,
                "meross_request",
                {"device_id": device_id, "namespace": namespace, "payload": {}},
                blocking=True,
                return_response=True,
            )
        )
    diagnostics.append(await async_get_config_entry_diagnostics(hass, entry))

    # Failures: the broker goes away and comes back.
    await meross.broker.stop()
    await _wait_for(lambda: not runtime.account.brokers.all_connected, timeout=10)
    for coordinator in runtime.coordinators.values():
        await coordinator.async_refresh()
    diagnostics.append(await async_get_config_entry_diagnostics(hass, entry))
    await meross.broker.start()
    await _wait_for(lambda: runtime.account.brokers.all_connected, timeout=20)

    # Reauth: the token expires; a wrong then the right password.
    meross.cloud.expire_tokens()
    await runtime.async_sync_devices(runtime.family)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "not the password"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    tokens.add(entry.data["credentials"]["token"])
    assert len(tokens) == 2
    diagnostics.append(await async_get_config_entry_diagnostics(hass, entry))
    await bridge_of(entry).async_wait_idle()

    credentials = entry.data["credentials"]
    secrets = {
        "password": PASSWORD,
        "e-mail address": EMAIL,
        "key": credentials["key"],
        "MQTT password": app_mqtt_password(credentials["user_id"], credentials["key"]),
        **{f"token {index}": token for index, token in enumerate(sorted(tokens))},
    }
    places = places_text(hass, caplog, diagnostics, responses, user)
    assert all(places.values())
    assert MEROSS_PLUG_TOPIC in places["bridge topics"]
    assert "Sending SUBSCRIBE" in places["log"]  # paho's DEBUG lines are in
    assert find_leaks(secrets, places) == []
    # The user id is personal data: not in logs, diagnostics or topics (a device's own reply to
    # meross_request may carry it: that is the device's payload, returned as asked).
    user_id = {"user id": credentials["user_id"]}
    assert find_leaks(user_id, {k: v for k, v in places.items() if k != "service responses"}) == []
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_maxsmart_secrets(
    hass: HomeAssistant,
    bridged_entry: MockConfigEntry,
    strip: MaxSmartEmulator,
    user: UserClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MaxSmart: set-up, discovery (its replies carry the device key), polls, commands, faults."""
    caplog.set_level(logging.DEBUG)
    responses: list[Any] = []
    runtime = bridged_entry.runtime_data.runtime
    coordinator = runtime.coordinator_for_device(STRIP_SERIAL)
    await user.wait_for(f"{STRIP_TOPIC}/availability", lambda m: m.payload == "online")
    # Discovery over UDP: the strip answers with its key.
    found = await async_discover("127.0.0.1", port=strip.udp_port, timeout=1, max_devices=1)
    assert [info.serial for info in found] == [STRIP_SERIAL]
    for _ in range(3):
        await coordinator.async_refresh()
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.desk_tv"}, blocking=True
    )
    user.command(STRIP_TOPIC, "turn_on", {"port": 1}, "secret-test")
    responses.append(await user.result(STRIP_TOPIC, "secret-test"))
    responses.append(
        await hass.services.async_call(
            DOMAIN,
            "bridge_send_command",
            {
                "device_id": _device_id(hass, bridged_entry, STRIP_SERIAL),
                "action": "turn_off",
                "args": {"port": 2},
            },
            blocking=True,
            return_response=True,
        )
    )
    strip.faults.garbage_json = True
    await coordinator.async_refresh()
    strip.faults.clear()
    await coordinator.async_refresh()
    diagnostics = [await async_get_config_entry_diagnostics(hass, bridged_entry)]
    await bridge_of(bridged_entry).async_wait_idle()
    places = places_text(hass, caplog, diagnostics, responses, user)
    assert all(places.values())
    assert strip.sak
    assert find_leaks({"device key": strip.sak}, places) == []


def _device_id(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
    assert device is not None
    return device.id


async def test_midea_secrets(
    hass: HomeAssistant,
    midea_stack: MideaStack,
    mqtt_entry: MockConfigEntry,
    user: UserClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Midea: set-up (V3 handshakes with token and key), polls, commands, garbage, reauth."""
    caplog.set_level(logging.DEBUG)
    stack = midea_stack
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=midea_account_title(MIDEA_ACCOUNT),  # as the config flow names it
        unique_id=f"NetHome Plus:{MIDEA_ACCOUNT}",
        data={
            "family": "midea",
            "account": MIDEA_ACCOUNT,
            "password": MIDEA_PASSWORD,
            "cloud": "NetHome Plus",
            "api_url": stack.cloud.url,
            "discovery_port": stack.discovery_port,
            "appliances": {
                str(appliance.appliance_id): appliance_record(appliance)
                for appliance in (stack.dehumidifier, stack.air_conditioner)
            },
        },
        options=BRIDGE_OPTIONS,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data.runtime
    responses: list[Any] = []
    for coordinator in runtime.coordinators.values():
        await coordinator.async_refresh()
    await hass.services.async_call(
        "humidifier",
        "set_humidity",
        {"entity_id": "humidifier.cellar", "humidity": 45},
        blocking=True,
    )
    stack.dehumidifier.faults.garbage = True
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "humidifier",
            "set_humidity",
            {"entity_id": "humidifier.cellar", "humidity": 46},
            blocking=True,
        )
    stack.dehumidifier.faults.garbage = False
    diagnostics = [await async_get_config_entry_diagnostics(hass, entry)]
    # Reauth: the cloud refuses the password; a wrong one, then the new one.
    stack.cloud.accounts[MIDEA_ACCOUNT].password = NEW_PASSWORD
    await async_refresh_account(hass, entry, runtime.source)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "not the password"}
    )
    assert result["errors"]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    diagnostics.append(await async_get_config_entry_diagnostics(hass, entry))
    bridge = bridge_of(entry)
    await bridge.async_wait_idle()
    secrets = {
        "password": MIDEA_PASSWORD,
        "new password": NEW_PASSWORD,
        "e-mail address": MIDEA_ACCOUNT,
        **{
            f"{what} of {appliance.name}": value
            for appliance in (stack.dehumidifier, stack.air_conditioner)
            for what, value in (("token", appliance.token), ("key", appliance.key))
        },
    }
    places = places_text(hass, caplog, diagnostics, responses, user)
    assert all(places.values())
    assert find_leaks(secrets, places) == []
    assert await hass.config_entries.async_unload(entry.entry_id)
