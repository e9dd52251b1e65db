"""Diagnostics of a Midea entry: useful content, and no password, token, key, MAC or serial."""

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

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
