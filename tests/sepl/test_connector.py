"""The SEPL platform connector entry in Home Assistant against the emulated platform."""

import asyncio
import json
from pathlib import Path
from typing import Any

from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, instance_id, issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    async_mock_service,
)

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.export.core import ExportOutcome, action_schemas
from custom_components.switchboard.export.sepl.catalogue import DEVICE_TYPES
from custom_components.switchboard.export.sepl.client import gateway_hash
from custom_components.switchboard.export.sepl.const import (
    AVAILABILITY_DEBOUNCE,
    CONF_GATEWAY_ID,
    REGISTRY_DEBOUNCE,
)
from emulators.sepl import SeplPlatform

from .conftest import (
    PASSWORD,
    USER,
    Setup,
    add_entity,
    connector_of,
    events_of,
    later,
    synced,
    until,
)


async def test_exposes_switchboard_entities_with_tags_and_stable_uri(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    power = add_entity(
        hass, "sensor", "power", "12.5", {"unit_of_measurement": "W", "device_class": "power"}
    )
    add_entity(hass, "switch", "foreign", "on", platform="other")  # not a Switchboard entity
    add_entity(hass, "input_boolean", "flag", "on")  # no device type for the domain
    entry = await setup()
    connector = connector_of(entry)
    exposed = connector.exposed()
    assert set(exposed) == {lamp, power}
    registry = er.async_get(hass)
    assert exposed[lamp].endswith("_" + registry.async_get(lamp).id)  # type: ignore[union-attr]
    gid = entry.data[CONF_GATEWAY_ID]
    assert gid in platform.gateways
    device = platform.device(USER, exposed[power])
    assert device is not None
    assert device.name == "Power"
    assert device.iot_type == DEVICE_TYPES["sensor"].id
    assert device.tags == {"domain": "sensor", "device_class": "power"}
    await until(lambda: len(platform.events) == 2)
    assert events_of(platform, exposed[power])[0]["reading"]["value"] == 12.5
    assert events_of(platform, exposed[power])[0]["reading"]["unit"] == "W"
    assert events_of(platform, exposed[lamp])[0]["state"]["state"] == "on"

    # an entity id rename keeps the uri: no delete, the platform device is the same
    registry.async_update_entity(lamp, new_entity_id="switch.desk_lamp")
    hass.states.async_set("switch.desk_lamp", "on", {"friendly_name": "Desk lamp"})
    later(hass, REGISTRY_DEBOUNCE + 1)
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert connector.exposed()["switch.desk_lamp"] == exposed[lamp]
    assert platform.device(USER, exposed[lamp]).name == "Desk lamp"  # type: ignore[union-attr]


async def test_gateway_id_reused_hash_match_and_mismatch(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    add_entity(hass, "switch", "lamp", "on")
    entry = await setup()
    gid = entry.data[CONF_GATEWAY_ID]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await synced(platform, entry)
    client = connector_of(entry).client
    assert client is not None
    assert client.gateway_id == gid
    assert client.stats.full_synchronisations == 0  # the hash matched
    platform.reset_hash(gid)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await synced(platform, entry)
    client = connector_of(entry).client
    assert client is not None
    assert client.stats.full_synchronisations == 1
    handlers = [frame["handler"] for frame in platform.sessions[-1].received]
    assert handlers[:3] == ["clear", "put", "commit"]


async def test_entity_added_removed_unavailable(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    add_entity(hass, "switch", "lamp", "on")
    entry = await setup()
    connector = connector_of(entry)
    fan = add_entity(hass, "fan", "ceiling", "off", {"percentage": 0})
    later(hass, REGISTRY_DEBOUNCE + 1)
    await hass.async_block_till_done()
    await synced(platform, entry)
    uri = connector.exposed()[fan]
    assert uri in platform.gateways[entry.data[CONF_GATEWAY_ID]].devices

    hass.states.async_set(fan, "unavailable")
    await hass.async_block_till_done()
    assert uri in platform.sessions[-1].listening  # debounced: not yet
    later(hass, AVAILABILITY_DEBOUNCE + 1)
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert uri not in platform.sessions[-1].listening
    assert (uri, "disconnected") in platform.device_log
    hass.states.async_set(fan, "on", {"percentage": 50})
    later(hass, 2 * AVAILABILITY_DEBOUNCE + 2)
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert uri in platform.sessions[-1].listening
    await until(
        lambda: (
            events_of(platform, uri)[-1]["state"]
            == {
                "state": "on",
                "percentage": 50,
                "time": events_of(platform, uri)[-1]["state"]["time"],
            }
        )
    )

    er.async_get(hass).async_remove(fan)
    later(hass, 3 * AVAILABILITY_DEBOUNCE + REGISTRY_DEBOUNCE + 3)
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert platform.device(USER, uri) is None


COMMANDS: list[tuple[str, str, dict[str, Any]]] = [
    ("switch", "turn_on", {}),
    ("switch", "turn_off", {}),
    ("switch", "toggle", {}),
    ("light", "turn_on", {"brightness_pct": 40, "hs_color": [30, 80], "transition": 1.5}),
    ("light", "turn_off", {"transition": 2}),
    ("climate", "set_temperature", {"temperature": 21.5}),
    ("climate", "set_hvac_mode", {"hvac_mode": "heat"}),
    ("climate", "set_fan_mode", {"fan_mode": "low"}),
    ("climate", "set_preset_mode", {"preset_mode": "eco"}),
    ("humidifier", "set_humidity", {"humidity": 45}),
    ("humidifier", "set_mode", {"mode": "auto"}),
    ("number", "set_value", {"value": 7.5}),
    ("select", "select_option", {"option": "b"}),
    ("button", "press", {}),
    ("cover", "open_cover", {}),
    ("cover", "set_cover_position", {"position": 30}),
    ("fan", "set_percentage", {"percentage": 60}),
    ("fan", "turn_on", {"percentage": 20, "preset_mode": "auto"}),
]
BAD: list[tuple[str, str, dict[str, Any]]] = [
    ("light", "turn_on", {"brightness_pct": 140}),
    ("light", "turn_on", {"hs_color": [1, 2, 3]}),
    ("light", "turn_on", {"flash": "long"}),
    ("humidifier", "set_humidity", {}),
    ("number", "set_value", {"value": "lots"}),
    ("cover", "set_cover_position", {"position": -1}),
    ("fan", "set_percentage", {"percentage": 101}),
]


async def test_every_command_kind(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    calls: dict[tuple[str, str], list[ServiceCall]] = {}
    entities = {domain: add_entity(hass, domain, f"my_{domain}", "off") for domain in DEVICE_TYPES}
    for domain, type_def in DEVICE_TYPES.items():
        for action in type_def.actions:
            calls[domain, action.name] = async_mock_service(hass, domain, action.name)
    entry = await setup()
    exposed = connector_of(entry).exposed()
    for domain, action, args in COMMANDS:
        response = await platform.async_command(
            USER, exposed[entities[domain]], action, args or None
        )
        assert response["outputs"] == {"status": 200, "message": ""}, (domain, action)
        call = calls[domain, action][-1]
        assert dict(call.data) == {**args, "entity_id": [entities[domain]]} or dict(call.data) == {
            **args,
            "entity_id": entities[domain],
        }
    for domain, action, args in BAD:
        before = len(calls[domain, action])
        response = await platform.async_command(USER, exposed[entities[domain]], action, args)
        assert response["outputs"]["status"] == 400, (domain, action, args)
        assert response["outputs"]["message"].startswith(f'Invalid arguments for "{action}"')
        assert len(calls[domain, action]) == before  # nothing ran
    # a service the domain does not allow (another domain's action, built by hand)
    payload = platform.build_command(USER, exposed[entities["number"]], "set_value", {"value": 1})
    payload["device_url"] = exposed[entities["switch"]]
    record = await platform.async_send_command(
        USER, exposed[entities["switch"]], "", payload=payload
    )
    await until(lambda: bool(record.responses))
    assert record.responses[0]["outputs"]["status"] == 400
    assert 'does not accept the action "set_value"' in record.responses[0]["outputs"]["message"]
    # bad JSON in the data part
    response = await platform.async_command(
        USER,
        exposed[entities["switch"]],
        "turn_on",
        protocol_parts=[{"name": "data", "value": "{nope"}],
    )
    assert response["outputs"]["status"] == 400


async def test_device_failure_and_unavailable_are_500(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    async_mock_service(
        hass, "switch", "turn_off", raise_exception=HomeAssistantError("strip did not answer")
    )
    entry = await setup()
    uri = connector_of(entry).exposed()[lamp]
    response = await platform.async_command(USER, uri, "turn_off")
    assert response["outputs"] == {
        "status": 500,
        "message": "The action on switch.lamp failed: strip did not answer",
    }
    echoed = dict(response["payload"])
    assert echoed["device_url"] == uri
    assert echoed["service"]["url"] == "turn_off"
    counters = connector_of(entry).counters()
    assert counters["commands_failed"] == 1


async def test_duplicate_task_id_runs_once(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "off")
    calls = async_mock_service(hass, "switch", "toggle")
    entry = await setup()
    uri = connector_of(entry).exposed()[lamp]
    record = await platform.async_send_command(USER, uri, "toggle", task_id="t-1")
    await platform.async_send_command(USER, uri, "toggle", task_id="t-1")
    await until(lambda: len(record.responses) == 2)
    assert len(calls) == 1
    assert [r["outputs"]["status"] for r in record.responses] == [200, 200]


async def test_events_on_change_only_and_latest_after_reconnect(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    light = add_entity(hass, "light", "desk", "on", {"brightness": 100, "color_mode": "brightness"})
    entry = await setup()
    uri = connector_of(entry).exposed()[light]
    await until(lambda: len(events_of(platform, uri)) == 1)
    hass.states.async_set(
        light,
        "on",
        {"brightness": 100, "color_mode": "brightness", "friendly_name": "Desk", "noise": 1},
    )
    hass.states.async_set(
        light, "on", {"brightness": 120, "color_mode": "brightness", "friendly_name": "Desk"}
    )
    await until(lambda: len(events_of(platform, uri)) == 2)
    assert events_of(platform, uri)[-1]["state"]["brightness"] == 120
    # the platform goes away; three changes; only the last one arrives after the resync
    await platform.stop()
    client = connector_of(entry).client
    assert client is not None
    await until(lambda: not client.ready)
    for brightness in (10, 20, 30):
        hass.states.async_set(
            light,
            "on",
            {"brightness": brightness, "color_mode": "brightness", "friendly_name": "Desk"},
        )
    await platform.start()
    await synced(platform, entry)
    await until(lambda: len(events_of(platform, uri)) == 3)
    await asyncio.sleep(0.1)
    assert [event["state"]["brightness"] for event in events_of(platform, uri)] == [100, 120, 30]
    assert all(session.errors == 0 for session in platform.sessions)


async def test_bad_credentials_start_reauth(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    add_entity(hass, "switch", "lamp", "on")
    entry = await setup(wait=False, password="wrong")
    connector = connector_of(entry)
    assert connector.client is not None
    connector.client.backoff_base = connector.client.backoff_max = 0.01
    await until(
        lambda: any(
            flow["context"]["source"] == "reauth"
            for flow in hass.config_entries.flow.async_progress()
        )
    )
    assert hass.states.get("sensor.sepl_platform_connection").state == "auth_failed"  # type: ignore[union-attr]


async def test_duplicate_uri_repair_issue(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    add_entity(hass, "switch", "other", "on")
    uri_of = f"HA_{(await instance_id.async_get(hass)).replace('-', '')}_"
    platform.faults.duplicate_uris.add(uri_of + er.async_get(hass).async_get(lamp).id)  # type: ignore[union-attr]
    entry = await setup()
    issues = ir.async_get(hass).issues
    issue = next(issue for (domain, _), issue in issues.items() if domain == DOMAIN)
    assert issue.translation_key == "sepl_device_rejected"
    assert issue.translation_placeholders["entity"] == lamp  # type: ignore[index]
    assert "found more than one device" in issue.translation_placeholders["error"]  # type: ignore[index]
    assert connector_of(entry).counters()["devices_rejected"] == 1
    # the platform is cleaned up; the entity changes: accepted, issue gone
    platform.faults.duplicate_uris.clear()
    hass.states.async_set(lamp, "on", {"friendly_name": "Lamp 2"})
    later(hass, REGISTRY_DEBOUNCE + 1)
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]


async def test_slow_commit_dropped_reply_and_restart(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    platform.faults.clear_delay = 0.3
    platform.faults.commit_delay = 0.3
    lamp = add_entity(hass, "switch", "lamp", "on")
    entry = await setup()
    connector = connector_of(entry)
    assert connector.client is not None
    connector.client.request_timeout = 0.5
    connector.client.backoff_base = connector.client.backoff_max = 0.01
    platform.faults.drop_replies["put"] = 1
    hass.states.async_set(lamp, "on", {"friendly_name": "Renamed"})
    later(hass, REGISTRY_DEBOUNCE + 1)
    await hass.async_block_till_done()
    await until(lambda: platform.logins == 2)
    await synced(platform, entry)
    assert platform.device(USER, connector.exposed()[lamp]).name == "Renamed"  # type: ignore[union-attr]
    await platform.restart()
    await until(lambda: platform.logins == 3)
    await synced(platform, entry)
    sensor = hass.states.get("sensor.sepl_platform_connection")
    assert sensor is not None
    assert sensor.state == "ready"


async def test_diagnostics_redact_password(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    entry = await setup()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert PASSWORD not in json.dumps(diagnostics)
    connector = diagnostics["connector"]
    assert connector["state"] == "ready"
    assert lamp in connector["exposed"]
    assert (
        connector["local_hash"]
        == connector["platform_hash"]
        == gateway_hash(
            [connector_of(entry).client.devices[connector["exposed"][lamp]["uri"]]]  # type: ignore[union-attr]
        )
    )


def test_action_schemas_are_documented() -> None:
    shipped = json.loads((Path(__file__).parents[2] / "docs" / "sepl" / "actions.json").read_text())
    assert shipped == action_schemas()
    turn_on = shipped["light.turn_on"]
    assert turn_on["additionalProperties"] is False
    assert turn_on["properties"]["hs_color"] == {
        "type": "array",
        "items": {"type": "number", "minimum": 0, "maximum": 360},
        "minItems": 2,
        "maxItems": 2,
    }
    assert shipped["cover.set_cover_position"]["required"] == ["position"]
    assert ExportOutcome().status == 200
    assert ExportOutcome("invalid_action_args").status == 400
    assert ExportOutcome("action_failed").status == 500


async def test_unavailable_entity_and_validation_errors_of_the_action(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    climate = add_entity(hass, "climate", "hall", "heat", {"current_temperature": 20.5})
    async_mock_service(
        hass,
        "climate",
        "set_hvac_mode",
        raise_exception=ServiceValidationError("hvac mode dry is not supported"),
    )
    entry = await setup()
    exposed = connector_of(entry).exposed()
    response = await platform.async_command(
        USER, exposed[climate], "set_hvac_mode", {"hvac_mode": "dry"}
    )
    assert response["outputs"]["status"] == 400
    assert "not supported" in response["outputs"]["message"]
    hass.states.async_set(lamp, "unavailable")  # within the debounce: still listened to
    await hass.async_block_till_done()
    response = await platform.async_command(USER, exposed[lamp], "turn_on")
    assert response["outputs"] == {
        "status": 500,
        "message": "switch.lamp is unavailable right now; the action was not run",
    }
    # the climate event carries only values the platform accepts
    await until(lambda: bool(events_of(platform, exposed[climate])))
    assert events_of(platform, exposed[climate])[0]["state"]["current_temperature"] == 20.5
