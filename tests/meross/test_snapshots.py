"""Entity snapshots of a Meross account: plug, strip, MTS200 thermostat, hub with an MTS100 valve.

Identifiers (user id, key, uuids, MACs) are fixed here so that unique ids and entity ids are
the same on every run; the account's request rate depends on timing and is masked.
"""

from collections.abc import AsyncGenerator
import contextlib
from typing import Any

from homeassistant import config_entries
from homeassistant.const import CONF_PASSWORD, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.vendors.meross.const import (
    CONF_ADVANCED,
    CONF_API_BASE_URL,
    CONF_EMAIL,
    CONF_VERIFY_SSL,
)
from emulators.meross import (
    MerossCloudEmulator,
    MerossHub,
    MerossPlug,
    MerossStrip,
    MerossThermostat,
    MerossValve,
)
from emulators.mosquitto import Mosquitto

from ..snapshots import masked, only_platform, with_matcher
from .conftest import EMAIL, PASSWORD, VALVE_ID, MerossEnv, meross_broker

USER_ID = "1234567"
KEY = "0123456789abcdef0123456789abcdef"


def _uuid(n: int) -> str:
    return f"19010000000000000000000000000{n:03d}"


@pytest.fixture
async def fixed_env(socket_enabled: None) -> AsyncGenerator[MerossEnv]:
    """The emulated account of tests/meross/conftest.py, with fixed identifiers."""
    async with contextlib.AsyncExitStack() as stack:
        broker: Mosquitto = await stack.enter_async_context(meross_broker())
        cloud = MerossCloudEmulator(broker)
        account = cloud.add_account(EMAIL, PASSWORD, user_id=USER_ID, key=KEY)
        plug = await cloud.add_device(
            account, MerossPlug(name="Desk plug", uuid=_uuid(1), mac="48:e1:e9:00:00:01")
        )
        strip = await cloud.add_device(
            account, MerossStrip(name="Media strip", uuid=_uuid(2), mac="48:e1:e9:00:00:02")
        )
        thermostat = await cloud.add_device(
            account,
            MerossThermostat(name="Hall thermostat", uuid=_uuid(3), mac="48:e1:e9:00:00:03"),
        )
        hub = await cloud.add_device(
            account,
            MerossHub(
                name="Hub",
                uuid=_uuid(4),
                mac="48:e1:e9:00:00:04",
                valves=[MerossValve(subdevice_id=VALVE_ID, name="Radiator")],
            ),
        )
        await stack.enter_async_context(cloud)
        yield MerossEnv(broker, cloud, account, plug, strip, thermostat, hub)


async def _setup(hass: HomeAssistant, env: MerossEnv) -> config_entries.ConfigEntry:
    result: Any = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "meross"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_EMAIL: EMAIL,
            CONF_PASSWORD: PASSWORD,
            CONF_ADVANCED: {CONF_API_BASE_URL: env.cloud.url, CONF_VERIFY_SSL: False},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: config_entries.ConfigEntry = result["result"]
    return entry


def _matcher(hass: HomeAssistant, env: MerossEnv) -> Any:
    """Mask the broker's free port and the timing-dependent request rate."""
    rate = [
        entity.entity_id
        for entity in er.async_get(hass).entities.values()
        if entity.entity_id.endswith("request_rate")
    ]
    return masked(
        replace={env.cloud.url: "<cloud url>", f":{env.broker.tls_port}": ":<free port>"},
        ports=[env.broker.port, env.broker.tls_port, env.cloud.port],
        volatile_entities=rate,
    )


@pytest.mark.parametrize(
    "platform",
    [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.CLIMATE, Platform.SENSOR, Platform.SWITCH],
)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    fixed_env: MerossEnv,
    platform: Platform,
) -> None:
    """Every entity of the account's devices, one platform at a time."""
    with only_platform(platform):
        entry = await _setup(hass, fixed_env)
    matcher = _matcher(hass, fixed_env)
    await snapshot_platform(hass, entity_registry, with_matcher(snapshot, matcher), entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    fixed_env: MerossEnv,
) -> None:
    """The entry's diagnostics (secrets redacted); the message trace and rates vary: excluded."""
    entry = await _setup(hass, fixed_env)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["family"]["trace"]  # recorded, but timestamps and ids differ per run
    assert diagnostics == snapshot(
        exclude=props("trace", "mqtt_bridge"), matcher=_matcher(hass, fixed_env)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
