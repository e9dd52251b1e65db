"""Diagnostics of a Midea entry: useful content, and no password, token, key, MAC or serial."""

import json

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.switchboard.const import DOMAIN

from .conftest import PASSWORD, MideaStack


async def test_diagnostics_redact_secrets(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    stack: MideaStack,
    account_entry: MockConfigEntry,
) -> None:
    """Every appliance is described; credentials and identifiers are redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, account_entry)
    text = json.dumps(diagnostics)
    secrets = [PASSWORD]
    for appliance in (stack.dehumidifier, stack.air_conditioner):
        secrets += [
            appliance.token,
            appliance.key,
            appliance.serial,
            appliance.mac,
            appliance.mac.replace(":", ""),
        ]
    for secret in secrets:
        assert secret.lower() not in text.lower()
    appliances = diagnostics["family"]["appliances"]
    cellar = appliances[str(stack.dehumidifier.appliance_id)]
    assert cellar["available"] is True
    assert cellar["config"]["token"] == "**REDACTED**"
    assert cellar["config"]["key"] == "**REDACTED**"
    assert cellar["attributes"]["current_humidity"] == 62
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    stack: MideaStack,
    account_entry: MockConfigEntry,
) -> None:
    """A device page's download holds that appliance, redacted the same way."""
    appliance = stack.air_conditioner
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(appliance.appliance_id)), account_entry.entry_id
    )
    assert device is not None
    diagnostics = await get_diagnostics_for_device(hass, hass_client, account_entry, device)
    part = diagnostics["device"]["appliance"]
    assert part["available"] is True
    assert part["attributes"]["indoor_temperature"] == 26.5
    assert {"breezeless", "fresh_air_power", "wind_ud_angle"} <= set(part["reported"])
    assert part["config"]["key"] == "**REDACTED**"
    text = json.dumps(diagnostics).lower()
    for secret in (appliance.token, appliance.key, appliance.serial, appliance.mac, PASSWORD):
        assert secret.lower() not in text
