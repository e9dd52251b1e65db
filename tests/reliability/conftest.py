"""The reliability suite reuses the families' own fixtures (real peers, real brokers).

pytest only sees fixtures of conftest files on a test's path, so the ones of ``tests/bridge``
(mosquitto, Home Assistant's mqtt, the user's paho client, the bridged MaxSmart strip, the
bridged INDI and Meross entries), ``tests/maxsmart`` (an HTTP session) and ``tests/meross`` (the
account's TLS mosquitto, emulated cloud and our connected MQTT client) are imported here, not
copied.
"""

from collections.abc import AsyncGenerator

import aiohttp
import pytest

from emulators.sepl import SeplPlatform
from tests.bridge.conftest import (  # noqa: F401
    bridged_entry,
    broker,
    fast_mqtt,
    mqtt_entry,
    strip,
    user,
)
from tests.bridge.test_family_actions import indi, indi_bridged, meross, meross_bridged  # noqa: F401
from tests.maxsmart.conftest import session  # noqa: F401
from tests.meross.conftest import (  # noqa: F401
    credentials,
    http_session,
    meross_env,
    mosquitto,
    mqtt_client,
)
from tests.midea.conftest import MideaStack, fast_reconnect, start_stack, stop_stack  # noqa: F401
from tests.sepl.conftest import http, platform, setup as sepl_setup  # noqa: F401
from tests.sepl.test_client import Harness, started


@pytest.fixture
async def sepl_harness(
    platform: SeplPlatform,  # noqa: F811
    http: aiohttp.ClientSession,  # noqa: F811
) -> AsyncGenerator[Harness]:
    """A SEPL client connected to the emulated platform and synchronised (one lamp)."""
    harness = await started(lambda **kwargs: Harness(platform, http, **kwargs))
    yield harness
    await harness.client.async_stop()


@pytest.fixture
async def midea_stack(socket_enabled: None) -> AsyncGenerator[MideaStack]:
    """The Midea appliances (V3), their discovery responder and the cloud (tests/midea)."""
    started = await start_stack()
    yield started
    await stop_stack(started)
