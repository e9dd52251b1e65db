"""The Midea config flow: account path, manual keys, single appliance, reauth, reconfigure,
discovery and DHCP, against the emulated appliances and the fake NetHome Plus cloud."""

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.components.network.models import Adapter
from homeassistant.config_entries import SOURCE_DHCP, SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchboard.const import DOMAIN
from emulators.midea import MideaAppliance, MideaLanServer, default_air_conditioner

from ..conftest import LOOPBACK_ADAPTER
from .conftest import ACCOUNT, PASSWORD, MideaStack, setup_account_entry


@pytest.fixture
def loopback(network_adapters: list[Adapter]) -> None:
    """Let discovery broadcast on the loopback network (nothing leaves the machine)."""
    network_adapters.append(LOOPBACK_ADAPTER)


async def _unload_all(hass: HomeAssistant) -> None:
    """Unload every entry the test created (their appliance threads and sockets)."""
    await hass.async_block_till_done()
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
async def stack(hass: HomeAssistant, stack: MideaStack) -> AsyncGenerator[MideaStack]:
    """The V3 stack of ``conftest.py``; the test's entries are unloaded before it stops."""
    yield stack
    await _unload_all(hass)


@pytest.fixture
async def stack_v2(hass: HomeAssistant, stack_v2: MideaStack) -> AsyncGenerator[MideaStack]:
    """The V2 stack of ``conftest.py``; the test's entries are unloaded before it stops."""
    yield stack_v2
    await _unload_all(hass)


async def _menu(hass: HomeAssistant, choice: str) -> dict[str, Any]:
    """The user flow's Midea menu, then ``choice``: its first form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "midea"}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": choice}
    )
    assert result["step_id"] == choice
    return result


async def _submit(hass: HomeAssistant, choice: str, user_input: dict[str, Any]) -> dict[str, Any]:
    """The form of ``choice`` (``midea_account``, ``midea_appliance``) sent with ``user_input``."""
    result = await _menu(hass, choice)
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


def _account_input(stack: MideaStack, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "account": ACCOUNT,
        "password": password,
        "cloud": "NetHome Plus",
        "advanced": {"api_url": stack.cloud.url, "discovery_port": stack.discovery_port},
    }


async def _refuses_wrong_token_and_key(
    hass: HomeAssistant, flow_id: str, appliance: MideaAppliance
) -> None:
    """A keys step checks both on the appliance: a wrong token, then a wrong key, is refused."""
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"token": "ab" * 64, "key": appliance.key}
    )
    assert result["errors"] == {"base": "wrong_token"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"token": appliance.token, "key": "cd" * 32}
    )
    assert result["errors"] == {"base": "wrong_key"}


async def test_account_creates_one_entry_for_every_appliance(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """Sign in, find both appliances on the LAN, fetch their keys: one entry, both running."""
    result = await _submit(hass, "midea_account", _account_input(stack))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["title"] == "Midea c***@example.com"  # no e-mail address in titles
    appliances = result["data"]["appliances"]
    record = appliances[str(stack.dehumidifier.appliance_id)]
    assert record["token"] == stack.dehumidifier.token
    assert record["key"] == stack.dehumidifier.key
    assert record["port"] == stack.dehumidifier_server.port
    assert record["name"] == "Cellar"
    assert str(stack.air_conditioner.appliance_id) in appliances
    await hass.async_block_till_done()
    assert hass.states.get("humidifier.cellar") is not None
    assert hass.states.get("climate.bedroom") is not None
    assert stack.cloud.requests.count("/v1/iot/secure/getToken") >= 2
    # The same account again is refused.
    again = await _submit(hass, "midea_account", _account_input(stack))
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


async def test_account_with_refused_key_asks_for_it(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """Error 9999 for one appliance: a step explains it and takes its token and key by hand."""
    stack.account.refuse_token.add(stack.air_conditioner.appliance_id)
    result = await _submit(hass, "midea_account", _account_input(stack))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "midea_account_keys"
    assert result["description_placeholders"]["name"] == "Bedroom"
    assert result["description_placeholders"]["ready"] == "Cellar"
    # The cloud's refusal, which midea-local logs without raising, is shown.
    assert result["description_placeholders"]["code"] == "9999"
    # Malformed, then wrong token, then wrong key, then right.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": "xyz", "key": "00"}
    )
    assert result["errors"] == {"token": "invalid_token", "key": "invalid_key"}
    appliance = stack.air_conditioner
    await _refuses_wrong_token_and_key(hass, result["flow_id"], appliance)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": appliance.token.upper(), "key": appliance.key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["appliances"][str(appliance.appliance_id)]["key"] == appliance.key


async def test_account_with_keys_the_appliance_refuses(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """The cloud gives a key, but the appliance refuses it: the step shows no cloud error."""
    stack.air_conditioner.faults.reject_token = True
    result = await _submit(hass, "midea_account", _account_input(stack))
    assert result["step_id"] == "midea_account_keys"
    assert result["description_placeholders"]["name"] == "Bedroom"
    assert result["description_placeholders"]["code"] == "-"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_account_skipping_a_refused_appliance_keeps_the_others(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """Leaving token and key empty skips that appliance; the entry holds the others."""
    stack.account.refuse_token.add(stack.air_conditioner.appliance_id)
    result = await _submit(hass, "midea_account", _account_input(stack))
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert list(result["data"]["appliances"]) == [str(stack.dehumidifier.appliance_id)]


async def test_account_all_refused_and_skipped_aborts(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """Every appliance refused and skipped: nothing to create."""
    stack.account.refuse_token.update(
        {stack.dehumidifier.appliance_id, stack.air_conditioner.appliance_id}
    )
    result = await _submit(hass, "midea_account", _account_input(stack))
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "midea_account_keys"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_appliances_configured"


async def test_account_errors(hass: HomeAssistant, stack: MideaStack, loopback: None) -> None:
    """Wrong password, cloud outage, unreachable cloud, nothing on the LAN; then success."""
    result = await _submit(hass, "midea_account", _account_input(stack, password="wrong"))
    assert result["errors"] == {"base": "invalid_auth"}
    stack.cloud.outage = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(stack)
    )
    assert result["errors"] == {"base": "cannot_connect_cloud"}
    stack.cloud.outage = False
    stack.cloud.failing.add("/v1/appliance/user/list/get")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(stack)
    )
    assert result["errors"] == {"base": "cloud_error"}
    stack.cloud.failing.clear()
    unreachable = _account_input(stack)
    unreachable["advanced"]["api_url"] = "http://127.0.0.1:9"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], unreachable)
    assert result["errors"] == {"base": "cannot_connect_cloud"}
    stack.dehumidifier.faults.ignore_discovery = True
    stack.air_conditioner.faults.ignore_discovery = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(stack)
    )
    assert result["errors"] == {"base": "no_appliances_found"}
    stack.dehumidifier.faults.ignore_discovery = False
    stack.air_conditioner.faults.ignore_discovery = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


def _appliance_input(stack: MideaStack) -> dict[str, Any]:
    return {"host": "127.0.0.1", "advanced": {"discovery_port": stack.discovery_port}}


async def test_single_appliance_v3(hass: HomeAssistant, stack: MideaStack) -> None:
    """By address: two appliances answer there, pick one, then its token and key."""
    result = await _submit(hass, "midea_appliance", _appliance_input(stack))
    assert result["step_id"] == "midea_appliance_pick"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"appliance": str(stack.dehumidifier.appliance_id)}
    )
    assert result["step_id"] == "midea_appliance_keys"
    appliance = stack.dehumidifier
    await _refuses_wrong_token_and_key(hass, result["flow_id"], appliance)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": appliance.token, "key": appliance.key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == str(appliance.appliance_id)
    await hass.async_block_till_done()
    assert hass.states.get("humidifier.dehumidifier_9019") is not None
    # Already configured: the same appliance again aborts.
    again = await _submit(hass, "midea_appliance", _appliance_input(stack))
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {"appliance": str(appliance.appliance_id)}
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


async def test_single_appliance_v2_and_errors(hass: HomeAssistant, stack_v2: MideaStack) -> None:
    """No answer, then a V2 appliance alone at its address: no token needed."""
    result = await _submit(
        hass, "midea_appliance", {"host": "127.0.0.1", "advanced": {"discovery_port": 9}}
    )
    assert result["errors"] == {"base": "no_answer"}
    stack_v2.dehumidifier.faults.ignore_discovery = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _appliance_input(stack_v2)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["appliances"][str(stack_v2.air_conditioner.appliance_id)]["protocol"] == 2


async def test_single_appliance_unsupported(hass: HomeAssistant, socket_enabled: None) -> None:
    """An appliance of another type (a 0xFA fan) is refused with its own error."""
    fan = default_air_conditioner(protocol=2)
    fan.device_type = 0xFA  # type: ignore[misc]
    server = MideaLanServer(fan)
    from emulators.midea import MideaDiscoveryResponder

    responder = MideaDiscoveryResponder()
    await server.start()
    responder.register(server)
    await responder.start()
    try:
        result = await _submit(
            hass,
            "midea_appliance",
            {"host": "127.0.0.1", "advanced": {"discovery_port": responder.ports[0]}},
        )
        assert result["errors"] == {"base": "unsupported"}
    finally:
        await responder.stop()
        await server.stop()


async def test_reauth(hass: HomeAssistant, stack: MideaStack) -> None:
    """The account's password again; a wrong one is refused first."""
    entry = await setup_account_entry(hass, stack)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "midea_reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    stack.cloud.accounts[ACCOUNT].password = "new password"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "new password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data["password"] == "new password"


async def test_reconfigure(hass: HomeAssistant, stack: MideaStack) -> None:
    """A new token and key for one appliance (checked), or a wrong key (refused)."""
    entry = await setup_account_entry(hass, stack)
    appliance = stack.air_conditioner
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "midea_reconfigure"
    base = {"appliance": str(appliance.appliance_id), "host": "127.0.0.1"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**base, "token": appliance.token, "key": "00" * 32}
    )
    assert result["errors"] == {"base": "wrong_key"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**base, "token": appliance.token, "key": appliance.key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_discovery_updates_address_and_offers_new(
    hass: HomeAssistant, stack: MideaStack
) -> None:
    """Background discovery: a known appliance gets its new port without a reload; an unknown
    one is offered."""
    entry = await setup_account_entry(hass, stack)
    source = entry.runtime_data.runtime.source
    appliance = stack.dehumidifier
    await stack.dehumidifier_server.stop()
    stack.dehumidifier_server.port = 0
    await stack.dehumidifier_server.start()
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={
            "family": "midea",
            "appliance_id": appliance.appliance_id,
            "host": "127.0.0.1",
            "port": stack.dehumidifier_server.port,
            "mac": appliance.mac,
            "device_type": 0xA1,
            "protocol": 3,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    record = entry.data["appliances"][str(appliance.appliance_id)]
    assert record["port"] == stack.dehumidifier_server.port
    await hass.async_block_till_done()
    client = source.clients[str(appliance.appliance_id)]
    while not client.available or client.config.port != stack.dehumidifier_server.port:
        await hass.async_block_till_done()
        import asyncio

        await asyncio.sleep(0.02)
    assert entry.state.recoverable  # not reloaded: the same source still runs
    assert entry.runtime_data.runtime.source is source
    # An appliance no entry knows is offered.
    new = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={
            "family": "midea",
            "appliance_id": 1234567,
            "host": "127.0.0.1",
            "port": 6444,
            "mac": None,
            "device_type": 0xAC,
            "protocol": 3,
        },
    )
    assert new["step_id"] == "midea_discovery_confirm"


async def test_discovered_refused_key_shows_the_cloud_code(
    hass: HomeAssistant, stack: MideaStack
) -> None:
    """An account's new appliance whose key the cloud refused is offered under Discovered with
    the cloud's code (as the account's keys step shows it), replacing a plain LAN offer of it;
    its token and key are checked on the appliance before its entry is created."""
    from custom_components.switchboard.vendors.midea.discovery import discovery_data
    from custom_components.switchboard.vendors.midea.lan import async_discover

    appliance = stack.air_conditioner
    # What LAN discovery found of it (the emulator's own reply).
    replies = await async_discover(
        [appliance.host], [stack.discovery_port], wanted=[appliance.appliance_id]
    )
    found = replies[appliance.appliance_id]
    context = {"source": SOURCE_INTEGRATION_DISCOVERY}
    plain = await hass.config_entries.flow.async_init(
        DOMAIN, context=context, data=discovery_data(found, stack.discovery_port)
    )
    assert plain["step_id"] == "midea_discovery_confirm"
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context=context, data=discovery_data(found, stack.discovery_port, 9999)
    )
    assert result["step_id"] == "midea_discovery_keys"
    assert result["description_placeholders"]["code"] == "9999"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["flow_id"] for flow in flows] == [result["flow_id"]]
    # A later plain LAN offer does not replace it.
    again = await hass.config_entries.flow.async_init(
        DOMAIN, context=context, data=discovery_data(found, stack.discovery_port)
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_in_progress"
    await _refuses_wrong_token_and_key(hass, result["flow_id"], appliance)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"token": appliance.token, "key": appliance.key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    record = result["data"]["appliances"][str(appliance.appliance_id)]
    assert (record["token"], record["key"]) == (appliance.token, appliance.key)


async def test_dhcp_updates_a_registered_appliance(hass: HomeAssistant, stack: MideaStack) -> None:
    """DHCP sees a registered appliance's MAC at an address: the entry follows it."""
    entry = await setup_account_entry(hass, stack)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_DHCP},
        data=DhcpServiceInfo(ip="127.0.0.1", hostname="midea", macaddress="88c29c963bb0"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    other = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_DHCP},
        data=DhcpServiceInfo(ip="127.0.0.1", hostname="x", macaddress="001122334455"),
    )
    assert other["reason"] == "not_supported"
    assert entry.data["appliances"][str(stack.dehumidifier.appliance_id)]["host"] == "127.0.0.1"


async def test_options_follow_some_appliances(hass: HomeAssistant, stack: MideaStack) -> None:
    """The options choose which appliances the entry runs."""
    entry = await setup_account_entry(hass, stack)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "scan_interval": 60,
            "burst_interval": 2,
            "burst_cycles": 3,
            "follow": [str(stack.dehumidifier.appliance_id)],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("humidifier.cellar") is not None
    assert hass.states.get("climate.bedroom") is None or (
        hass.states.get("climate.bedroom").state == "unavailable"
    )


async def test_unknown_errors_recover(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """An unexpected exception is logged and shown as unknown; the next try goes on."""
    from unittest.mock import patch

    flow = "custom_components.switchboard.vendors.midea.config_flow"
    result = await _menu(hass, "midea_account")
    with patch(f"{flow}.async_login", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _account_input(stack)
        )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    single = await _menu(hass, "midea_appliance")
    with patch(f"{flow}.async_discover", side_effect=RuntimeError("boom")):
        single = await hass.config_entries.flow.async_configure(
            single["flow_id"], _appliance_input(stack)
        )
    assert single["errors"] == {"base": "unknown"}
    single = await hass.config_entries.flow.async_configure(
        single["flow_id"], _appliance_input(stack)
    )
    assert single["step_id"] == "midea_appliance_pick"


async def test_background_discovery_offers_unknown_appliances(
    hass: HomeAssistant, stack: MideaStack, loopback: None
) -> None:
    """At start (then every 15 minutes) a broadcast finds the appliances: the configured one
    is left alone, the other is offered under Discovered."""
    from .conftest import appliance_record

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Cellar",
        unique_id=str(stack.dehumidifier.appliance_id),
        data={
            "family": "midea",
            "discovery_port": stack.discovery_port,
            "appliances": {
                str(stack.dehumidifier.appliance_id): appliance_record(stack.dehumidifier)
            },
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Only Midea's flows: with the loopback adapter enabled, the MaxSmart family's own background
    # discovery also broadcasts there, and a strip emulator elsewhere on this machine may answer.
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["step_id"].startswith("midea_")
    ]
    assert [flow["context"]["unique_id"] for flow in flows] == [
        str(stack.air_conditioner.appliance_id)
    ]
    assert flows[0]["step_id"] == "midea_discovery_confirm"
    # Confirming leads to the token and key of the (V3) appliance.
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
    assert result["step_id"] == "midea_appliance_keys"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"token": stack.air_conditioner.token, "key": stack.air_conditioner.key},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_discovery_matches_by_mac(hass: HomeAssistant, stack: MideaStack) -> None:
    """An appliance answering with another id but a known MAC gets the known one's address."""
    entry = await setup_account_entry(hass, stack)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={
            "family": "midea",
            "appliance_id": 42,
            "host": "127.0.0.1",
            "port": 6999,
            "mac": stack.air_conditioner.mac,
            "device_type": 0xAC,
            "protocol": 3,
        },
    )
    assert result["reason"] == "already_configured"
    assert entry.data["appliances"][str(stack.air_conditioner.appliance_id)]["port"] == 6999
