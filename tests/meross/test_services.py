"""``switchboard.meross_request``: the reply, and every way it can fail (translated errors)."""

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.vendors.meross import services as meross_services

from .conftest import MerossEnv
from .test_integration import _setup, _unload, _wait_for

SERVICE_TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def _short_service_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meross_services, "REQUEST_TIMEOUT", SERVICE_TIMEOUT)


async def _call(hass: HomeAssistant, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, "meross_request", data, blocking=True, return_response=True
    )


def _device_id(hass: HomeAssistant, entry: ConfigEntry, identifier: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
    assert device is not None
    return device.id


async def test_reply_of_a_get(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    plug = meross_env.plug
    reply = await _call(
        hass, device_id=_device_id(hass, entry, plug.uuid), namespace="Appliance.System.All"
    )
    assert reply["uuid"] == plug.uuid
    assert reply["namespace"] == "Appliance.System.All"
    assert reply["payload"]["all"]["system"]["hardware"]["macAddress"] == plug.mac
    # GET and an empty payload are the defaults.
    assert plug.requests[-1] == ("GET", "Appliance.System.All", {})
    await _unload(hass, entry)


async def test_unknown_device(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, device_id="no-such-device", namespace="Appliance.System.All")
    assert err.value.translation_key == "unknown_device"
    assert str(err.value) == 'Switchboard does not know the device "no-such-device"'
    await _unload(hass, entry)


async def test_not_a_meross_device(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    # The account's own device has no uuid a device answers to.
    account_device = _device_id(hass, entry, entry.runtime_data.runtime.account.account_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, device_id=account_device, namespace="Appliance.System.All")
    assert err.value.translation_key == "meross_not_a_device"
    assert str(err.value) == "Meross cloud account is not a device of a loaded Meross account"
    # A device of another family's entry is refused the same way.
    other = MockConfigEntry(domain=DOMAIN, data={"family": "maxsmart"}, title="Strip")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={(DOMAIN, "SWP0001")}, name="Strip"
    )
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, device_id=foreign.id, namespace="Appliance.System.All")
    assert err.value.translation_key == "meross_not_a_device"
    assert err.value.translation_placeholders == {"device": "Strip"}
    await _unload(hass, entry)


async def test_entry_not_loaded(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    plug_device = _device_id(hass, entry, meross_env.plug.uuid)
    await _unload(hass, entry)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, device_id=plug_device, namespace="Appliance.System.All")
    assert err.value.translation_key == "service_config_entry_not_loaded"
    assert str(err.value) == (
        f"Config entry {entry.title} for integration switchboard is not loaded"
    )


async def test_device_does_not_answer(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    plug = meross_env.plug
    plug.online = False  # stops answering (without telling anyone)
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass, device_id=_device_id(hass, entry, plug.uuid), namespace="Appliance.System.All"
        )
    assert err.value.translation_key == "meross_request_timeout"
    assert str(err.value) == (
        f"Desk plug did not answer Appliance.System.All within {SERVICE_TIMEOUT:g} s"
    )
    await _unload(hass, entry)


async def test_device_error_reply(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    device_id = _device_id(hass, entry, meross_env.plug.uuid)
    # A namespace the plug does not advertise.
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, device_id=device_id, namespace="Appliance.Control.Thermostat.Mode")
    assert err.value.translation_key == "meross_device_error"
    assert err.value.translation_placeholders["code"] == "-1"
    assert str(err.value).startswith(
        "Desk plug refused Appliance.Control.Thermostat.Mode: error -1"
    )
    # A SET the device rejects (channel 7 does not exist).
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            device_id=device_id,
            namespace="Appliance.Control.ToggleX",
            method="SET",
            payload={"togglex": {"channel": 7, "onoff": 1}},
        )
    assert err.value.translation_key == "meross_device_error"
    assert err.value.translation_placeholders["detail"] == "no channel 7"
    # A signature the device does not accept (wrong key): error 5001.
    brokers = entry.runtime_data.runtime.account.brokers
    for client in brokers.clients.values():
        client._key = "not-the-account-key"
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, device_id=device_id, namespace="Appliance.System.All")
    # The device's ERROR reply is signed with the real key, which the client no longer
    # has: it is dropped, so the request times out.
    assert err.value.translation_key == "meross_request_timeout"
    assert meross_env.plug.bad_sign_requests == 1
    await _unload(hass, entry)


async def test_broker_down(hass: HomeAssistant, meross_env: MerossEnv) -> None:
    entry = await _setup(hass, meross_env)
    device_id = _device_id(hass, entry, meross_env.plug.uuid)
    brokers = entry.runtime_data.runtime.account.brokers
    await meross_env.broker.stop()
    await _wait_for(lambda: not brokers.connected(meross_env.plug.uuid))
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, device_id=device_id, namespace="Appliance.System.All")
    assert err.value.translation_key == "meross_request_failed"
    assert "not connected" in str(err.value)
    await _unload(hass, entry)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"namespace": "System.All"}, "namespace"),
        ({"namespace": "Appliance.System.All", "method": "PUSH"}, "method"),
        ({"namespace": "Appliance.System.All", "method": "get"}, "method"),
        ({"namespace": "Appliance.System.All", "payload": [1, 2]}, "payload"),
        ({}, "namespace"),
    ],
)
async def test_invalid_input(
    hass: HomeAssistant, meross_env: MerossEnv, data: dict[str, Any], field: str
) -> None:
    entry = await _setup(hass, meross_env)
    device_id = _device_id(hass, entry, meross_env.plug.uuid)
    requests = len(meross_env.plug.requests)
    with pytest.raises(probatio.Invalid) as err:
        await _call(hass, device_id=device_id, **data)
    assert [str(part) for part in err.value.path] == [field]
    # Nothing reached the device.
    assert len(meross_env.plug.requests) == requests
    await _unload(hass, entry)
