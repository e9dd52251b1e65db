"""TLS certificate verification: on by default wherever the integration talks TLS.

The Meross family talks TLS to the account's MQTT broker (the test broker's certificate is
self-signed, as a man in the middle's would be), the SEPL connector to its platform
(``wss://``). Verification is on unless the user turns off the translated option, and the
diagnostics say whether it is on. (MaxSmart, INDI and the Midea LAN protocol have no TLS; the
Midea cloud goes through Home Assistant's verified HTTP session.)
"""

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.switchboard.diagnostics import async_get_config_entry_diagnostics
from custom_components.switchboard.vendors.meross.const import (
    CONF_ADVANCED,
    CONF_API_BASE_URL,
    CONF_EMAIL,
    CONF_VERIFY_SSL,
)
from tests.meross.conftest import EMAIL, PASSWORD, MerossEnv
from tests.meross.test_integration import _start_flow, _wait_for

TRANSLATIONS = Path(__file__).parents[2] / "custom_components/switchboard/translations/en.json"


def test_the_option_is_translated_and_on_by_default() -> None:
    """The form's field defaults to on; its label and description are in en.json."""
    from custom_components.switchboard.vendors.meross.config_flow import MerossFlow

    schema = MerossFlow()._meross_schema()
    advanced = next(value for key, value in schema.schema.items() if key == CONF_ADVANCED)
    field = next(key for key in advanced.schema.schema if key == CONF_VERIFY_SSL)
    assert field.default() is True
    step = json.loads(TRANSLATIONS.read_text())["config"]["step"]["meross"]
    section = step["sections"]["advanced"]
    assert section["data"][CONF_VERIFY_SSL]
    assert section["data_description"][CONF_VERIFY_SSL]


async def _create_entry(hass: HomeAssistant, env: MerossEnv, advanced: dict[str, Any]) -> Any:
    result = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_EMAIL: EMAIL,
            "password": PASSWORD,
            CONF_ADVANCED: {CONF_API_BASE_URL: env.cloud.url, **advanced},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result["result"]


async def test_meross_broker_certificate_is_verified_by_default(
    hass: HomeAssistant, meross_env: MerossEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """Default settings: the self-signed broker is refused; diagnostics say verification is on."""
    entry = await _create_entry(hass, meross_env, {})
    assert entry.data[CONF_VERIFY_SSL] is True
    [mqtt] = entry.runtime_data.runtime.account.brokers.clients.values()
    await _wait_for(lambda: mqtt.last_error is not None)
    assert not mqtt.connected
    assert "certificate" in mqtt.last_error.lower()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["family"]["mqtt"]["tls_certificate_verified"] is True
    assert diagnostics["family"]["mqtt"]["connections"][0]["connected"] is False
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_meross_verification_off_is_explicit_and_shown(
    hass: HomeAssistant, meross_env: MerossEnv
) -> None:
    """Turned off in Advanced: the test broker is accepted; diagnostics say it is off."""
    entry = await _create_entry(hass, meross_env, {CONF_VERIFY_SSL: False})
    [mqtt] = entry.runtime_data.runtime.account.brokers.clients.values()
    await _wait_for(lambda: mqtt.connected)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["family"]["mqtt"]["tls_certificate_verified"] is False
    assert diagnostics["entry"]["data"][CONF_VERIFY_SSL] is False
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_sepl_option_is_translated_and_on_by_default() -> None:
    """The SEPL connector (``wss://``): the field defaults to on and is translated."""
    from custom_components.switchboard.export.sepl.config_flow import _account_schema

    field = next(key for key in _account_schema({}).schema if key == CONF_VERIFY_SSL)
    assert field.default() is True
    steps = json.loads(TRANSLATIONS.read_text())["config"]["step"]
    for step in ("sepl", "sepl_reconfigure"):
        assert steps[step]["data"][CONF_VERIFY_SSL]
        assert steps[step]["data_description"][CONF_VERIFY_SSL]


async def test_sepl_diagnostics_say_when_verification_is_off(
    hass: HomeAssistant, sepl_setup: Any
) -> None:
    """A connector entry with verification turned off says so in its diagnostics."""
    entry = await sepl_setup(verify_ssl=False)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["entry"]["data"][CONF_VERIFY_SSL] is False
