"""Config flow of the SEPL platform connector: account, errors, reauth, reconfigure, options."""

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.export.sepl.catalogue import DEVICE_TYPES
from custom_components.switchboard.export.sepl.config_flow import valid_url
from custom_components.switchboard.export.sepl.const import (
    CONF_DEVICE_TYPES,
    CONF_EXCLUDE_ENTITIES,
    CONF_EXPORTER,
    CONF_GATEWAY_ID,
    CONF_INCLUDE_DOMAINS,
    EXPORTER_SEPL,
)
from emulators.sepl import SeplPlatform

from .conftest import PASSWORD, USER, Setup, add_entity, connector_of, synced


async def _start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert EXPORTER_SEPL in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sepl"}
    )
    assert result["step_id"] == "sepl"
    return result["flow_id"]


def _account(url: str, password: str = PASSWORD) -> dict[str, object]:
    return {CONF_URL: url, CONF_USERNAME: USER, CONF_PASSWORD: password, CONF_VERIFY_SSL: True}


@pytest.mark.parametrize("url", ["http://x", "ws://", "example.org:80", "ws://h:99999"])
def test_url_must_be_websocket(url: str) -> None:
    assert valid_url(url) is None
    assert valid_url(" wss://connector.example.org:8093 ") == "wss://connector.example.org:8093"


async def test_user_flow_errors_recover_to_an_entry(
    hass: HomeAssistant, platform: SeplPlatform
) -> None:
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _account("http://nope"))
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, _account(platform.url, "wrong")
    )
    assert result["errors"] == {"base": "sepl_invalid_auth"}
    closed = SeplPlatform(users={})
    await closed.start()
    await closed.stop()  # a port where nothing listens any more
    result = await hass.config_entries.flow.async_configure(flow_id, _account(closed.url))
    assert result["errors"] == {"base": "sepl_cannot_connect"}
    result = await hass.config_entries.flow.async_configure(flow_id, _account(platform.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data[CONF_EXPORTER] == EXPORTER_SEPL
    assert data[CONF_GATEWAY_ID] in platform.gateways  # the probe's gateway is kept
    entry = result["result"]
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert len(platform.gateways) == 1  # the connector reused the gateway of the probe
    # the same account again
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, _account(platform.url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reauth_and_reconfigure(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    add_entity(hass, "switch", "lamp", "on")
    entry = await setup()
    gid = entry.data[CONF_GATEWAY_ID]
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "sepl_reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "wrong"}
    )
    assert result["errors"] == {"base": "sepl_invalid_auth"}
    platform.users[USER] = "new-password"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSWORD] == "new-password"
    assert entry.data[CONF_GATEWAY_ID] == gid
    await synced(platform, entry)

    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "sepl_reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account(platform.url, "new-password") | {CONF_VERIFY_SSL: False}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_VERIFY_SSL] is False
    assert entry.data[CONF_GATEWAY_ID] == gid  # same account and platform: same gateway
    await synced(platform, entry)


async def test_options_filter_and_device_types(
    hass: HomeAssistant, platform: SeplPlatform, setup: Setup
) -> None:
    lamp = add_entity(hass, "switch", "lamp", "on")
    other = add_entity(hass, "light", "foreign", "on", platform="hue")
    entry = await setup()
    assert set(connector_of(entry).exposed()) == {lamp}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "sepl"
    types = {domain: type_def.id for domain, type_def in DEVICE_TYPES.items()}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DEVICE_TYPES: types | {"switch": " "}}
    )
    assert result["errors"] == {"base": "empty_device_type"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_INCLUDE_DOMAINS: ["light", "switch"],
            CONF_EXCLUDE_ENTITIES: [lamp],
            CONF_DEVICE_TYPES: types,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await synced(platform, entry)
    assert set(connector_of(entry).exposed()) == {other}


async def test_unexpected_error_is_unknown_and_recovers(
    hass: HomeAssistant, platform: SeplPlatform
) -> None:
    """An unexpected exception while probing is logged and shown as `unknown`; the next try
    creates the entry."""
    from unittest.mock import patch

    from custom_components.switchboard.export.sepl.client import SeplClient

    flow_id = await _start(hass)
    with patch.object(SeplClient, "async_probe", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, _account(platform.url))
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(flow_id, _account(platform.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(result["result"].entry_id)
