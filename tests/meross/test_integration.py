"""The Meross family through Home Assistant: config flow, entities, push, polling, services."""

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant import config_entries
from homeassistant.const import CONF_PASSWORD, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.vendors.meross.client import MerossCloud
from custom_components.switchboard.vendors.meross.const import (
    CONF_ADVANCED,
    CONF_API_BASE_URL,
    CONF_EMAIL,
    CONF_MFA_CODE,
    CONF_PUSH,
    CONF_PUSH_EVENTS,
    CONF_VERIFY_SSL,
    EVENT_PUSH,
)
from emulators.meross import MerossPlug

from .conftest import EMAIL, PASSWORD, VALVE_ID, MerossEnv


def _user_input(env: MerossEnv, password: str = PASSWORD, url: str | None = None) -> dict[str, Any]:
    return {
        CONF_EMAIL: EMAIL,
        CONF_PASSWORD: password,
        CONF_ADVANCED: {CONF_API_BASE_URL: url or env.cloud.url, CONF_VERIFY_SSL: False},
    }


async def _start_flow(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "meross"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meross"
    return dict(result)


async def _setup(hass: HomeAssistant, env: MerossEnv, **options: Any) -> config_entries.ConfigEntry:
    result = await _start_flow(hass)
    result = dict(
        await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(env))
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    if options:
        hass.config_entries.async_update_entry(entry, options=options)
        await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    return entry


def _entity(hass: HomeAssistant, device_id: str, key: str, platform: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{device_id}_{key}")
    assert entity_id is not None, f"{platform} {device_id}_{key}"
    return entity_id


async def _wait_for(predicate: Any, timeout: float = 30.0) -> None:
    """Wait until ``predicate()`` is true; ``timeout`` is a safety net, not a measurement."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def _unload(hass: HomeAssistant, entry: config_entries.ConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


# -- config flow -----------------------------------------------------------------------------


async def test_flow_errors_recover(
    hass: HomeAssistant, meross_env: MerossEnv, unused_tcp_port: int
) -> None:
    result = await _start_flow(hass)
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, _user_input(meross_env, "x"))
    assert result["errors"] == {"base": "invalid_auth"}
    # The Advanced section holding the changed API URL stays open after the error (issue 12).
    assert result["data_schema"].schema["advanced"].options["collapsed"] is False
    closed = f"http://127.0.0.1:{unused_tcp_port}"
    result = await hass.config_entries.flow.async_configure(
        flow_id, _user_input(meross_env, url=closed)
    )
    assert result["errors"] == {"base": "cannot_connect"}
    meross_env.cloud.rate_limit()
    result = await hass.config_entries.flow.async_configure(flow_id, _user_input(meross_env))
    assert result["errors"] == {"base": "rate_limited"}
    meross_env.cloud.fail_next(1301, path="/v1/Auth/signIn")
    result = await hass.config_entries.flow.async_configure(flow_id, _user_input(meross_env))
    assert result["errors"] == {"base": "unknown"}
    # An unexpected exception (not a Meross error) is logged and shown as unknown too.
    with patch.object(MerossCloud, "async_login", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, _user_input(meross_env))
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(flow_id, _user_input(meross_env))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Meross m***@example.com"
    entry = result["result"]
    assert entry.unique_id == meross_env.account.user_id
    assert PASSWORD not in str(entry.data)
    await hass.async_block_till_done()
    # The same account again is refused.
    result = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meross_env)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await _unload(hass, entry)


async def test_flow_mfa(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    meross_env.account.mfa_code = "654321"
    result = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meross_env)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meross_mfa"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MFA_CODE: "000000"}
    )
    assert result["errors"] == {"base": "invalid_mfa"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MFA_CODE: " 654321 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await _unload(hass, result["result"])


async def test_reauth_after_token_expiry(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    old_token = entry.data["credentials"]["token"]
    meross_env.cloud.expire_tokens()
    # The hourly device list refresh finds the token expired and starts reauth.
    await entry.runtime_data.runtime.async_sync_devices(entry.runtime_data.runtime.family)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PASSWORD: "wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_PASSWORD: PASSWORD})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["credentials"]["token"] != old_token
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    await _unload(hass, entry)


async def test_reconfigure_same_account_only(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    other = meross_env.cloud.add_account("other@example.com", "pw2")
    assert other.user_id != meross_env.account.user_id
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    assert result["step_id"] == "meross_reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**_user_input(meross_env), CONF_EMAIL: "other@example.com", CONF_PASSWORD: "pw2"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_RECONFIGURE, "entry_id": entry.entry_id},
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meross_env)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    await _unload(hass, entry)


# -- entities, push, polling -----------------------------------------------------------------


async def test_entities_push_and_commands(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    plug, strip, thermostat, hub = (
        meross_env.plug,
        meross_env.strip,
        meross_env.thermostat,
        meross_env.hub,
    )
    await plug.set_power(11.965, 230.1, 0.052, push=False)
    entry = await _setup(hass, meross_env, **{CONF_PUSH_EVENTS: True})
    runtime = entry.runtime_data.runtime

    plug_switch = _entity(hass, plug.uuid, "channel_0", "switch")
    assert hass.states.get(plug_switch).state == STATE_OFF
    assert float(hass.states.get(_entity(hass, plug.uuid, "power", "sensor")).state) == 11.965
    assert float(hass.states.get(_entity(hass, plug.uuid, "voltage", "sensor")).state) == 230.1
    assert float(hass.states.get(_entity(hass, plug.uuid, "current", "sensor")).state) == 0.052
    assert float(hass.states.get(_entity(hass, plug.uuid, "energy_today", "sensor")).state) == 0.05
    total = _entity(hass, plug.uuid, "energy_total", "sensor")
    assert float(hass.states.get(total).state) == pytest.approx(0.05 + 0.11 + 0.12 + 0.13)

    # Device registry: MAC, firmware, hardware; the valve hangs off its hub.
    registry = dr.async_get(hass)
    plug_device = registry.async_get_device_by_identifier((DOMAIN, plug.uuid), entry.entry_id)
    assert plug_device is not None
    assert (dr.CONNECTION_NETWORK_MAC, plug.mac) in plug_device.connections
    assert (plug_device.sw_version, plug_device.hw_version) == ("2.1.17", "2.0.0")
    hub_device = registry.async_get_device_by_identifier((DOMAIN, hub.uuid), entry.entry_id)
    valve_device = registry.async_get_device_by_identifier(
        (DOMAIN, f"{hub.uuid}-{VALVE_ID.lower()}"), entry.entry_id
    )
    assert hub_device is not None
    assert valve_device is not None
    assert valve_device.via_device_id == hub_device.id

    # Push: the state follows a button press on the device.
    events: list[Event] = []
    hass.bus.async_listen(EVENT_PUSH, events.append)
    assert runtime.coordinators[plug.uuid].push_healthy
    await plug.push_toggle(True)
    await _wait_for(lambda: hass.states.get(plug_switch).state == STATE_ON)
    await _wait_for(lambda: bool(events))
    assert events[0].data["namespace"] == "Appliance.Control.ToggleX"
    assert events[0].data["device_id"] == plug_device.id
    await plug.set_power(100.0)
    power = _entity(hass, plug.uuid, "power", "sensor")
    await _wait_for(lambda: hass.states.get(power).state == "100.0")

    # Commands: strip outlet and master.
    outlet_2 = _entity(hass, strip.uuid, "channel_2", "switch")
    await hass.services.async_call("switch", "turn_on", {"entity_id": outlet_2}, blocking=True)
    assert strip.onoff[2] == 1
    assert hass.states.get(outlet_2).state == STATE_ON
    master = _entity(hass, strip.uuid, "channel_0", "switch")
    await hass.services.async_call("switch", "turn_off", {"entity_id": master}, blocking=True)
    assert not any(strip.onoff.values())
    assert hass.states.get(outlet_2).state == STATE_OFF

    # Thermostat: modes and temperatures both ways.
    climate = _entity(hass, thermostat.uuid, "thermostat", "climate")
    state = hass.states.get(climate)
    assert state.state == "heat"
    assert state.attributes["current_temperature"] == 17.7
    # The thermostat reports 18.8; the entity shows it on its 0.5 step (issue 12, item 10).
    assert thermostat.mode["targetTemp"] == 188
    assert state.attributes["temperature"] == 19.0
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": climate, "temperature": 21.5}, blocking=True
    )
    assert thermostat.mode["manualTemp"] == 215
    assert hass.states.get(climate).attributes["temperature"] == 21.5
    await hass.services.async_call(
        "climate", "set_hvac_mode", {"entity_id": climate, "hvac_mode": "cool"}, blocking=True
    )
    assert thermostat.mode["mode"] == 1
    assert hass.states.get(climate).state == "cool"
    await hass.services.async_call(
        "climate", "set_hvac_mode", {"entity_id": climate, "hvac_mode": "off"}, blocking=True
    )
    assert thermostat.mode["onoff"] == 0
    assert hass.states.get(climate).state == "off"
    await thermostat.push_mode(onoff=1, mode=3, currentTemp=190)
    await _wait_for(lambda: hass.states.get(climate).state == "auto")
    assert hass.states.get(climate).attributes["current_temperature"] == 19.0

    # MTS100 through the hub.
    valve = _entity(hass, f"{hub.uuid}-{VALVE_ID.lower()}", "thermostat", "climate")
    assert hass.states.get(valve).state == "heat"
    assert hass.states.get(valve).attributes["current_temperature"] == 18.5
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": valve, "temperature": 22}, blocking=True
    )
    assert hub.valves[VALVE_ID].custom == 220
    await _wait_for(lambda: hass.states.get(valve).attributes["temperature"] == 22.0)
    await hass.services.async_call(
        "climate", "set_hvac_mode", {"entity_id": valve, "hvac_mode": "auto"}, blocking=True
    )
    assert hub.valves[VALVE_ID].mode == 3
    await _wait_for(lambda: hass.states.get(valve).state == "auto")
    await hub.push_valve(VALVE_ID, "Appliance.Hub.Mts100.Temperature", room=205)
    await _wait_for(lambda: hass.states.get(valve).attributes["current_temperature"] == 20.5)
    battery = _entity(hass, f"{hub.uuid}-{VALVE_ID.lower()}", "battery", "sensor")
    assert hass.states.get(battery).state == "87"

    # Online push drives availability.
    await plug.set_online(False)
    await _wait_for(lambda: hass.states.get(plug_switch).state == STATE_UNAVAILABLE)
    await plug.set_online(True)
    await _wait_for(lambda: hass.states.get(plug_switch).state != STATE_UNAVAILABLE)

    # Request rate on the account device.
    account_id = runtime.account.account_id
    rate = _entity(hass, account_id, "request_rate", "sensor")
    await runtime.coordinators[account_id].async_refresh()
    assert int(hass.states.get(rate).state) > 5
    await _unload(hass, entry)


async def test_polling_fallback_and_recovery(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    coordinator = entry.runtime_data.runtime.coordinators[meross_env.plug.uuid]
    assert coordinator.push_healthy
    assert coordinator.update_interval.total_seconds() == 600
    await meross_env.broker.stop()
    await _wait_for(lambda: not coordinator.push_healthy)
    assert coordinator.update_interval.total_seconds() == 30
    switch = _entity(hass, meross_env.plug.uuid, "channel_0", "switch")
    await _wait_for(lambda: hass.states.get(switch).state == STATE_UNAVAILABLE)
    meross_env.plug.onoff[0] = 1  # changed while we were away
    await meross_env.broker.start()
    await _wait_for(lambda: coordinator.push_healthy)
    assert coordinator.update_interval.total_seconds() == 600
    await _wait_for(lambda: hass.states.get(switch).state == STATE_ON)
    await _unload(hass, entry)


async def test_push_off_polls_normally(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env, **{CONF_PUSH: False})
    coordinator = entry.runtime_data.runtime.coordinators[meross_env.plug.uuid]
    assert not coordinator.push_healthy
    switch = _entity(hass, meross_env.plug.uuid, "channel_0", "switch")
    await meross_env.plug.push_toggle(True)
    await asyncio.sleep(0.3)
    assert hass.states.get(switch).state == STATE_OFF
    await coordinator.async_refresh()
    assert hass.states.get(switch).state == STATE_ON
    await _unload(hass, entry)


async def test_cache_first_start_and_stale_devices(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    entry = await _setup(hass, meross_env)
    account = entry.runtime_data.runtime.account
    await account.store.async_save(account.cache)
    await _unload(hass, entry)
    # The cloud API is down: setup uses the cached device list.
    meross_env.cloud.fail_next(1500, count=100)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    switch = _entity(hass, meross_env.plug.uuid, "channel_0", "switch")
    assert hass.states.get(switch).state == STATE_OFF
    meross_env.cloud._faults.clear()

    # A device leaves the account, a valve leaves its hub, another device is only offline.
    runtime = entry.runtime_data.runtime
    registry = dr.async_get(hass)
    valve_id = f"{meross_env.hub.uuid}-{VALVE_ID.lower()}"
    assert registry.async_get_device_by_identifier((DOMAIN, valve_id), entry.entry_id)
    await meross_env.cloud.remove_device(meross_env.account, meross_env.strip)
    meross_env.hub.valves.pop(VALVE_ID)
    await meross_env.plug.set_online(False)
    await runtime.async_sync_devices(runtime.family)
    await hass.async_block_till_done()
    # Without a reload, the departed device and valve leave the registry with their entities.
    for gone in (meross_env.strip.uuid, valve_id):
        assert registry.async_get_device_by_identifier((DOMAIN, gone), entry.entry_id) is None
    entities = er.async_get(hass)
    strip_outlet = f"{meross_env.strip.uuid}_channel_1"
    assert entities.async_get_entity_id("switch", DOMAIN, strip_outlet) is None
    assert not [
        entity
        for entity in entities.entities.values()
        if entity.config_entry_id == entry.entry_id and entity.unique_id.startswith(valve_id)
    ]
    assert valve_id not in runtime.coordinators[meross_env.hub.uuid].data
    # The offline plug is still in the account's list: it stays, unavailable.
    plug = registry.async_get_device_by_identifier((DOMAIN, meross_env.plug.uuid), entry.entry_id)
    assert plug is not None
    await _wait_for(lambda: hass.states.get(switch).state == STATE_UNAVAILABLE)
    hub = registry.async_get_device_by_identifier((DOMAIN, meross_env.hub.uuid), entry.entry_id)
    assert hub is not None
    # Manual deletion (async_remove_config_entry_device) refuses a device the account has.
    from custom_components.switchboard import async_remove_config_entry_device

    assert not await async_remove_config_entry_device(hass, entry, plug)
    assert not await async_remove_config_entry_device(hass, entry, hub)
    await _unload(hass, entry)


async def test_setup_without_cache_and_cloud(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    store = entry.runtime_data.runtime.account.store
    await _unload(hass, entry)
    await store.async_remove()
    meross_env.cloud.expire_tokens()
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_ERROR
    assert [f["context"]["source"] for f in hass.config_entries.flow.async_progress()] == ["reauth"]


async def test_diagnostics_and_request_service(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, meross_env.plug.uuid), entry.entry_id
    )
    assert device is not None
    reply = await hass.services.async_call(
        DOMAIN,
        "meross_request",
        {
            "device_id": device.id,
            "namespace": "Appliance.Control.Electricity",
            "payload": {"channel": 0},
        },
        blocking=True,
        return_response=True,
    )
    assert reply["payload"]["electricity"]["voltage"] == 2301
    await hass.services.async_call(
        DOMAIN,
        "meross_request",
        {
            "device_id": device.id,
            "namespace": "Appliance.Control.ToggleX",
            "method": "SET",
            "payload": {"togglex": {"channel": 0, "onoff": 1}},
        },
        blocking=True,
        return_response=True,
    )
    assert meross_env.plug.onoff[0] == 1
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = str(diagnostics)
    account = meross_env.account
    assert account.key not in text
    assert entry.data["credentials"]["token"] not in text
    assert meross_env.plug.mac not in text
    # The entry title is the email (shown in the UI); nothing else carries it.
    assert EMAIL not in str(diagnostics["family"])
    assert EMAIL not in str(diagnostics["coordinators"])
    assert EMAIL not in str(diagnostics["entry"]["data"])
    trace = diagnostics["family"]["trace"]
    assert any(
        t["namespace"] == "Appliance.Control.Electricity" and t["direction"] == "rx"
        for t in trace[meross_env.plug.uuid]
    )
    [connection] = diagnostics["family"]["mqtt"]["connections"]
    assert connection["connected"] is True
    assert len(connection["devices"]) == 4
    await _unload(hass, entry)


async def test_new_device_appears_without_reload(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    entry = await _setup(hass, meross_env)
    try:
        new_plug = await meross_env.cloud.add_device(meross_env.account, MerossPlug(name="New"))
        await new_plug.wait_connected()
        await entry.runtime_data.runtime.async_sync_devices(entry.runtime_data.runtime.family)
        await hass.async_block_till_done()
        assert hass.states.get(_entity(hass, new_plug.uuid, "channel_0", "switch")) is not None
    finally:
        await _unload(hass, entry)


async def test_repair_issues_push_down_and_rate_limit(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """The broker down for 15 minutes and a rate-limited cloud are repair issues until fixed."""
    entry = await _setup(hass, meross_env)
    runtime = entry.runtime_data.runtime
    issues = ir.async_get(hass)
    push_down = f"push_down_{entry.entry_id}"
    rate_limited = f"meross_rate_limited_{entry.entry_id}"
    coordinator = runtime.coordinators[meross_env.plug.uuid]

    await meross_env.broker.stop()
    await _wait_for(lambda: not coordinator.push_healthy)
    down_since = dt_util.utcnow()
    async_fire_time_changed(hass, down_since + timedelta(minutes=14))
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, push_down) is None
    async_fire_time_changed(hass, down_since + timedelta(minutes=16))
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, push_down)
    assert issue is not None
    assert issue.translation_placeholders == {
        "entry": entry.title,
        "channel": "The Meross MQTT connection",
        "minutes": "15",
    }
    await meross_env.broker.start()
    await _wait_for(lambda: coordinator.push_healthy)
    assert issues.async_get_issue(DOMAIN, push_down) is None

    meross_env.cloud.rate_limit()
    await runtime.async_sync_devices(runtime.family)
    issue = issues.async_get_issue(DOMAIN, rate_limited)
    assert issue is not None
    assert issue.translation_placeholders == {"entry": entry.title, "code": "1028"}
    await runtime.async_sync_devices(runtime.family)  # the cloud answers again
    assert issues.async_get_issue(DOMAIN, rate_limited) is None
    await _unload(hass, entry)


async def test_options_use_toggles_and_a_request_limit_in_requests_per_minute(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """The Meross options: toggles like every family's, the limit with its unit (issue 12)."""
    entry = await _setup(hass, meross_env)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"].schema
    assert type(schema["push"]).__name__ == "BooleanSelector"
    assert type(schema["push_events"]).__name__ == "BooleanSelector"
    limit = schema["max_requests_per_minute"].validators[0]
    assert limit.config["unit_of_measurement"] == "requests/min"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "scan_interval": 30,
            "burst_interval": 2,
            "burst_cycles": 4,
            "push": False,
            "push_events": True,
            "max_requests_per_minute": 42.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["max_requests_per_minute"] == 42
    assert entry.options["push"] is False
    await hass.async_block_till_done()
    await _unload(hass, entry)
