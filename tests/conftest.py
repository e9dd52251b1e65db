"""Shared fixtures: custom integrations enabled; no discovery broadcast leaves the machine."""

from collections.abc import Generator
from pathlib import Path
from unittest.mock import patch

from homeassistant.components.network.models import Adapter
from hypothesis import HealthCheck, settings
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

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
def network_adapters() -> Generator[list[Adapter]]:
    """The network adapters Home Assistant reports: none by default.

    Discovery broadcasts to the enabled adapters' networks, so by default no datagram is
    sent at all. Tests that exercise discovery append :data:`LOOPBACK_ADAPTER` (and point the
    discovery port at an emulator), so nothing ever leaves loopback.
    """
    adapters: list[Adapter] = []
    with patch("homeassistant.components.network.async_get_adapters", return_value=adapters):
        yield adapters


LOOPBACK_ADAPTER: Adapter = {
    "name": "lo",
    "index": 1,
    "enabled": True,
    "auto": True,
    "default": False,
    "ipv4": [{"address": "127.0.0.1", "network_prefix": 8}],
    "ipv6": [],
}


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot format in ``snapshots/``, as in core.

    The test plugin's own ``snapshot`` fixture is shadowed by syrupy's when both plugins load.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


# Property-based tests (tests/reliability/test_fuzz.py): a bounded example count by default,
# derandomized so that every run of scripts/test (and CI) tries the same examples and a red run
# can be repeated; ``pytest --hypothesis-profile=long tests/reliability/test_fuzz.py`` runs 50
# times as many, random each run, to find new failures. Profiles are registered here, in the
# root conftest, so the option works for any test path.
for _profile, _examples, _derandomize in (("default", 150, True), ("long", 7500, False)):
    settings.register_profile(
        _profile,
        max_examples=_examples,
        derandomize=_derandomize,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile("default")
