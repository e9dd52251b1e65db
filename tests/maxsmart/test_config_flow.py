"""Config flow of the MaxSmart family: every step and error path, against emulators."""

from collections.abc import AsyncGenerator
from unittest.mock import patch

from homeassistant.components.network.models import Adapter
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import (
    CONF_BURST_CYCLES,
    CONF_BURST_INTERVAL,
    CONF_FAMILY,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from emulators.maxsmart import MaxSmartBroadcastRelay, MaxSmartEmulator

from ..conftest import LOOPBACK_ADAPTER
from .integration import entry_data, setup_entry


@pytest.fixture
async def relay(
    strip: MaxSmartEmulator, plug: MaxSmartEmulator, network_adapters: list[Adapter]
) -> AsyncGenerator[MaxSmartBroadcastRelay]:
    """Both emulators behind a broadcast relay on 0.0.0.0, loopback adapter enabled."""
    relay = MaxSmartBroadcastRelay(port=0)
    relay.register(strip)
    relay.register(plug)
    await relay.start()
    network_adapters.append(LOOPBACK_ADAPTER)
    with patch(
        "custom_components.switchboard.vendors.maxsmart.discovery.DISCOVERY_PORT", relay.port
    ):
        yield relay
    await relay.stop()


async def _menu_to_maxsmart(hass: HomeAssistant) -> dict:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "maxsmart" in result["menu_options"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "maxsmart"}
    )


def _address(emulator: MaxSmartEmulator) -> dict:
    return {
        "host": f"127.0.0.1:{emulator.http_port}",
        "advanced": {"discovery_port": emulator.udp_port},
    }


async def test_manual_entry_creates_entry(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """No strip found by broadcast: the address form says so and adds one by host:port."""
    result = await _menu_to_maxsmart(hass)
    assert result["type"] is FlowResultType.FORM
    # The form says discovery ran and found no strip not set up yet (issue 12, item 9).
    assert result["step_id"] == "maxsmart_none_found"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_address(strip), "host": "not a host!"}
    )
    assert result["step_id"] == "maxsmart_none_found"
    assert result["errors"] == {"host": "invalid_host"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Desk"
    assert result["result"].unique_id == strip.serial
    assert result["data"] == entry_data(strip)


async def test_manual_entry_unknown_error_recovers(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """An unexpected exception is logged and shown as unknown; the next try creates the entry."""
    result = await _menu_to_maxsmart(hass)
    with patch(
        "custom_components.switchboard.vendors.maxsmart.config_flow.MaxSmartClient.async_get_reading",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == strip.serial


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("http_500", "cannot_connect"),
        ("garbage_json", "cannot_connect"),
        ("drop_connection", "cannot_connect"),
        ("udp_silent", "no_discovery_reply"),
    ],
)
async def test_manual_errors_recover(
    hass: HomeAssistant, strip: MaxSmartEmulator, fault: str, error: str
) -> None:
    """Each failure shows a translated error; fixing it lets the flow finish."""
    result = await _menu_to_maxsmart(hass)
    setattr(strip.faults, fault, True)
    with patch("custom_components.switchboard.vendors.maxsmart.config_flow.async_discover") as d:
        if fault == "udp_silent":
            d.return_value = []  # do not wait the whole discovery timeout
        else:
            d.side_effect = AssertionError("identity is read only after HTTP succeeded")
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    strip.faults.clear()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_manual_invalid_host(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """A host that is not host[:port] is refused before anything is sent."""
    result = await _menu_to_maxsmart(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1:notaport", "advanced": {"discovery_port": 1}}
    )
    assert result["errors"] == {"host": "invalid_host"}
    assert strip.requests[511] == 0

    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_manual_already_configured_updates_address(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Adding a configured strip again aborts and stores its new address."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=strip.serial,
        data={**entry_data(strip), "host": "192.0.2.99", "port": 80},
    )
    entry.add_to_hass(hass)
    with patch("custom_components.switchboard.async_setup_entry", return_value=True):
        result = await _menu_to_maxsmart(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data["host"] == "127.0.0.1"
    assert entry.data["port"] == strip.http_port


async def test_discovery_lists_unconfigured_strips(
    hass: HomeAssistant,
    strip: MaxSmartEmulator,
    plug: MaxSmartEmulator,
    relay: MaxSmartBroadcastRelay,
) -> None:
    """Broadcast finds both devices; a configured one is not offered again."""
    MockConfigEntry(domain=DOMAIN, unique_id=plug.serial, data=entry_data(plug)).add_to_hass(hass)
    result = await _menu_to_maxsmart(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "maxsmart"
    options = result["data_schema"].schema["device"].config["options"]
    assert [option["value"] for option in options] == [strip.serial, "manual"]

    # Real strips serve HTTP on port 80; the emulator does not, so the flow asks for the
    # address with the discovered host filled in, and the corrected address works.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"device": strip.serial}
    )
    assert result["step_id"] == "maxsmart_manual"
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == strip.serial


async def test_discovery_manual_choice(
    hass: HomeAssistant, strip: MaxSmartEmulator, relay: MaxSmartBroadcastRelay
) -> None:
    """Choosing "enter an address" leads to the manual step."""
    result = await _menu_to_maxsmart(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"device": "manual"})
    assert result["step_id"] == "maxsmart_manual"
    assert result["errors"] == {}


def _discovery_info(emulator: MaxSmartEmulator, host: str = "127.0.0.1") -> dict:
    return {
        CONF_FAMILY: "maxsmart",
        "serial": emulator.serial,
        "host": host,
        "discovery_port": emulator.udp_port,
        "mac": "bc:2b:00:00:00:01",
        "name": emulator.name,
        "firmware": emulator.firmware,
    }


async def test_integration_discovery_new_strip(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """Background discovery offers a new strip; confirming checks it on port 80."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=_discovery_info(strip)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "maxsmart_discovery_confirm"
    assert result["description_placeholders"] == {"name": "Desk", "host": "127.0.0.1"}

    # Nothing serves HTTP on 127.0.0.1:80 here: a translated error, and the form stays.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "cannot_connect"}

    # Once the strip answers on port 80 (as real strips do), confirming creates the entry.
    with patch(
        "custom_components.switchboard.vendors.maxsmart.config_flow.DEFAULT_HTTP_PORT",
        strip.http_port,
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["serial"] == strip.serial


async def test_integration_discovery_updates_known_host(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """A known strip seen at a new address gets its host updated (matched by serial)."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=strip.serial, data={**entry_data(strip), "host": "192.0.2.7"}
    )
    entry.add_to_hass(hass)
    with patch("custom_components.switchboard.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=_discovery_info(strip)
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data["host"] == "127.0.0.1"


async def test_integration_discovery_matches_mac(
    hass: HomeAssistant, strip: MaxSmartEmulator
) -> None:
    """A strip whose serial changed (board swap) is still matched by its MAC."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="OLDSERIAL",
        data={**entry_data(strip), "host": "192.0.2.7", "mac": "bc:2b:00:00:00:01"},
    )
    entry.add_to_hass(hass)
    with patch("custom_components.switchboard.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=_discovery_info(strip)
        )
        await hass.async_block_till_done()
    assert result["reason"] == "already_configured"
    assert entry.data["host"] == "127.0.0.1"


async def test_unknown_family_discovery_aborts(hass: HomeAssistant) -> None:
    """Discovery data naming no known family is refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data={CONF_FAMILY: "nope"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"


async def test_reconfigure(
    hass: HomeAssistant, strip: MaxSmartEmulator, plug: MaxSmartEmulator
) -> None:
    """Reconfigure accepts a new address for the same strip and refuses another device."""
    entry = await setup_entry(hass, strip)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "maxsmart_reconfigure"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(plug))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"

    result = await entry.start_reconfigure_flow(hass)
    strip.faults.http_500 = True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["errors"] == {"base": "cannot_connect"}
    strip.faults.clear()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _address(strip))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["port"] == strip.http_port


async def test_options_flow(hass: HomeAssistant, strip: MaxSmartEmulator) -> None:
    """Options set normal and burst polling; a burst slower than normal is refused."""
    entry = await setup_entry(hass, strip)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SCAN_INTERVAL: 10, CONF_BURST_INTERVAL: 20, CONF_BURST_CYCLES: 3},
    )
    assert result["errors"] == {CONF_BURST_INTERVAL: "burst_slower_than_normal"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SCAN_INTERVAL: 10, CONF_BURST_INTERVAL: 1, CONF_BURST_CYCLES: 3},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.runtime.coordinators[strip.serial]
    assert coordinator.polling.normal.total_seconds() == 10
    assert coordinator.polling.burst.total_seconds() == 1
    assert coordinator.polling.burst_cycles == 3
