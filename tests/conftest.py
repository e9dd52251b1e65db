"""Shared fixtures: custom integrations enabled; no discovery broadcast leaves the machine."""

from collections.abc import Generator
from ipaddress import IPv4Address
from pathlib import Path
from unittest.mock import patch

import pytest

import custom_components

# pytest-homeassistant-custom-component imports its own testing ``custom_components`` package
# first; let Home Assistant's loader find this repository's integrations there too.
_REPO_COMPONENTS = str(Path(__file__).resolve().parents[1] / "custom_components")
if _REPO_COMPONENTS not in custom_components.__path__:
    custom_components.__path__.append(_REPO_COMPONENTS)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/switchboard in every test."""


@pytest.fixture(autouse=True)
def broadcast_addresses() -> Generator[set[IPv4Address]]:
    """The broadcast addresses Home Assistant's network helper reports: none by default.

    Tests that exercise discovery add ``IPv4Address("127.0.0.1")`` (and point the discovery
    port at an emulator), so no datagram is ever sent beyond loopback.
    """
    addresses: set[IPv4Address] = set()
    with patch(
        "homeassistant.components.network.async_get_ipv4_broadcast_addresses",
        return_value=addresses,
    ):
        yield addresses
