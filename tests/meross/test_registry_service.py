"""Registry dump and reload through Home Assistant's services (emulated cloud, real broker)."""

from collections.abc import AsyncGenerator
import copy
import json
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.switchboard.const import DOMAIN
from emulators.maxsmart import MaxSmartEmulator

from ..maxsmart.conftest import strip_kwargs
from ..maxsmart.integration import setup_entry
from .conftest import EMAIL, MerossEnv
from .test_integration import _entity, _setup, _unload, _wait_for


async def _dump(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "meross_dump_registry",
        {"config_entry_id": entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def _load(hass: HomeAssistant, entry_id: str, registry: Any, **kwargs: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "meross_load_registry",
        {"config_entry_id": entry_id, "registry": registry},
        blocking=True,
        return_response=True,
        **kwargs,
    )


async def test_dump_and_load_without_the_cloud(
    hass: HomeAssistant, meross_split_env: MerossEnv
) -> None:
    env = meross_split_env
    entry = await _setup(hass, env)
    dump = await _dump(hass, entry.entry_id)
    assert {item["uuid"] for item in dump["devices"]} == {d.uuid for d in env.account.devices}
    assert list(dump["subdevices"]) == [env.hub.uuid]
    assert "Appliance.Control.ToggleX" in dump["abilities"][env.plug.uuid]
    text = json.dumps(dump)
    for secret in (env.account.key, env.account.user_id, EMAIL, entry.data["credentials"]["token"]):
        assert secret not in text

    # The cloud is down from here on: the load must not need it.
    env.cloud.fail_next(1028, count=1000)
    cloud_calls = len(env.cloud.requests)
    smaller = copy.deepcopy(dump)
    smaller["devices"] = [d for d in smaller["devices"] if d["uuid"] != env.strip.uuid]
    # The plug moved to the second broker in this registry.
    plug_item = next(d for d in smaller["devices"] if d["uuid"] == env.plug.uuid)
    await env.cloud.move_device(env.plug, env.second_broker)
    plug_item["domain"] = plug_item["reservedDomain"] = env.plug.dev_list_item()["domain"]
    result = await _load(hass, entry.entry_id, smaller)
    assert result["loaded"] == 3
    assert result["removed"] == ["Media strip"]
    assert result["moved"] == ["Desk plug"]
    assert result["added"] == []
    assert result["subdevices"] == 1
    assert len(env.cloud.requests) == cloud_calls
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("switch", DOMAIN, f"{env.strip.uuid}_channel_1") is None
    # The strip left the registry's device list: its device goes; the moved plug stays.
    devices = dr.async_get(hass)
    assert devices.async_get_device_by_identifier((DOMAIN, env.strip.uuid), entry.entry_id) is None
    assert devices.async_get_device_by_identifier((DOMAIN, env.plug.uuid), entry.entry_id)
    plug = _entity(hass, env.plug.uuid, "channel_0", "switch")
    await hass.services.async_call("switch", "turn_on", {"entity_id": plug}, blocking=True)
    assert env.plug.onoff[0] == 1

    # Loading the full dump brings the strip back, still without the cloud.
    result = await _load(hass, entry.entry_id, dump)
    assert result["added"] == ["Media strip"]
    await _wait_for(
        lambda: registry.async_get_entity_id("switch", DOMAIN, f"{env.strip.uuid}_channel_1")
    )
    assert len(env.cloud.requests) == cloud_calls
    await _unload(hass, entry)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.update(format="meross-iot"), "meross_registry_not_a_dump"),
        (lambda d: d.update(version=99), "meross_registry_version"),
        (lambda d: d["devices"][0].pop("uuid"), "meross_registry_missing"),
        (lambda d: d["devices"][0].update(uuid="a/b"), "meross_registry_invalid"),
        (lambda d: d["devices"].append(d["devices"][0]), "meross_registry_duplicate"),
        (lambda d: d["subdevices"].update(nohub=[]), "meross_registry_unknown_hub"),
    ],
)
async def test_load_refuses_bad_dumps(
    hass: HomeAssistant, meross_env: MerossEnv, change: Any, key: str
) -> None:
    entry = await _setup(hass, meross_env)
    dump = await _dump(hass, entry.entry_id)
    change(dump)
    with pytest.raises(ServiceValidationError) as err:
        await _load(hass, entry.entry_id, dump)
    assert err.value.translation_key == key
    # Nothing changed.
    assert set(entry.runtime_data.runtime.account.sources) == {
        d.uuid for d in meross_env.account.devices
    }
    await _unload(hass, entry)


async def test_load_is_for_admins(
    hass: HomeAssistant, meross_env: MerossEnv, hass_read_only_user: MockUser
) -> None:
    entry = await _setup(hass, meross_env)
    dump = await _dump(hass, entry.entry_id)
    with pytest.raises(Unauthorized):
        await _load(hass, entry.entry_id, dump, context=Context(user_id=hass_read_only_user.id))
    await _unload(hass, entry)


@pytest.fixture
async def maxsmart_strip(socket_enabled: None) -> AsyncGenerator[MaxSmartEmulator]:
    """A MaxSmart strip: an entry of another family."""
    emulator = MaxSmartEmulator("127.0.0.1", **strip_kwargs())
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_dump_of_an_entry_that_is_not_meross(
    hass: HomeAssistant, maxsmart_strip: MaxSmartEmulator
) -> None:
    entry = await setup_entry(hass, maxsmart_strip)
    with pytest.raises(ServiceValidationError) as err:
        await _dump(hass, entry.entry_id)
    assert err.value.translation_key == "meross_not_an_account"
    assert await hass.config_entries.async_unload(entry.entry_id)
