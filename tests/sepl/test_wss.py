"""``wss://``: the connector verifies the platform's TLS certificate (on by default).

The emulated platform serves TLS with a certificate of a CA made for the test
(``emulators.mosquitto.write_self_signed_tls``). Home Assistant's verifying client context
trusts certifi's authorities, or the bundle ``REQUESTS_CA_BUNDLE`` names when Home Assistant
starts; "a CA the user made Home Assistant trust" is that context built again with
``REQUESTS_CA_BUNDLE`` set to the test CA (Home Assistant builds its contexts once, at import).
"""

import asyncio
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
import ssl
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import ssl as ssl_util
import pytest

from custom_components.switchboard.const import DOMAIN
from custom_components.switchboard.export.sepl.client import ConnectionState
from emulators.mosquitto import write_self_signed_tls
from emulators.sepl import SeplPlatform

from .conftest import PASSWORD, USER, Setup, connector_of, synced, until

REFUSED_HANDSHAKE = "Error on transport creation for incoming connection"


def _tls_dir(base: Path, hosts: tuple[str, ...]) -> Path:
    directory = base / "-".join(hosts)
    directory.mkdir()
    write_self_signed_tls(directory, hosts)
    return directory


async def _platform(directory: Path) -> SeplPlatform:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "server.crt", directory / "server.key")
    platform = SeplPlatform(users={USER: PASSWORD}, ssl_context=context)
    await platform.start()
    return platform


@pytest.fixture
async def tls_platform(socket_enabled: None, tmp_path: Path) -> AsyncGenerator[SeplPlatform]:
    """The platform on ``wss://127.0.0.1:<port>``; its CA is ``tmp_path/127.0.0.1/ca.crt``."""
    platform = await _platform(_tls_dir(tmp_path, ("127.0.0.1",)))
    yield platform
    await platform.stop()


@pytest.fixture
def refused_handshakes(hass: HomeAssistant) -> Generator[None]:
    """The emulated platform's side of a TLS handshake our client refused is not a failure.

    The platform runs on the test's event loop, and asyncio reports a connection whose
    handshake the peer aborted ("Error on transport creation for incoming connection") to
    the loop's exception handler, which the ``hass`` fixture turns into a test error. Only
    that report is dropped, and only while the test runs.
    """
    loop = hass.loop
    handler = loop.get_exception_handler()

    def filtered(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == REFUSED_HANDSHAKE and isinstance(
            context.get("exception"), (ConnectionError, ssl.SSLError)
        ):
            return
        if handler is not None:
            handler(loop, context)

    loop.set_exception_handler(filtered)
    yield
    loop.set_exception_handler(handler)


def _trust(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> None:
    """Home Assistant's verifying context, as built at start with ``REQUESTS_CA_BUNDLE``."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    context = ssl_util.create_client_context(
        ssl_util.SSLCipherList.PYTHON_DEFAULT, ssl_util.SSL_ALPN_HTTP11
    )
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    monkeypatch.setattr(ssl_util, "client_context", lambda *_args: context)


async def _flow(hass: HomeAssistant, url: str, *, verify: bool = True) -> dict:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sepl"}
    )
    account = {CONF_URL: url, CONF_USERNAME: USER, CONF_PASSWORD: PASSWORD}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**account, CONF_VERIFY_SSL: verify}
    )
    await hass.async_block_till_done()
    return dict(result)


async def test_wss_with_a_trusted_certificate(
    hass: HomeAssistant,
    tls_platform: SeplPlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refused_handshakes: None,
) -> None:
    """A certificate of a trusted CA for the URL's host: the entry connects and synchronises;
    the same CA's certificate for another host is still refused (the name is checked)."""
    assert tls_platform.url.startswith("wss://127.0.0.1:")
    _trust(monkeypatch, tmp_path / "127.0.0.1" / "ca.crt")
    result = await _flow(hass, tls_platform.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["data"][CONF_VERIFY_SSL] is True
    entry = result["result"]
    await synced(tls_platform, entry)
    assert connector_of(entry).state is ConnectionState.READY
    assert tls_platform.logins >= 2  # the flow's probe, then the connector
    await hass.config_entries.async_unload(entry.entry_id)

    # Another platform whose certificate (same trusted CA) names only "localhost".
    directory = _tls_dir(tmp_path, ("localhost",))
    _trust(monkeypatch, directory / "ca.crt")
    other = await _platform(directory)
    try:
        result = await _flow(hass, other.url)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "sepl_certificate"}
        assert other.logins == 0
    finally:
        await other.stop()


async def test_wss_untrusted_certificate(
    hass: HomeAssistant, tls_platform: SeplPlatform, setup: Setup, refused_handshakes: None
) -> None:
    """Verification on (the default): a certificate of an unknown CA is refused, in the flow
    with a translated error, in a running entry by never connecting and a repair issue (the
    diagnostics give the reason). Turned off: the same platform is accepted."""
    result = await _flow(hass, tls_platform.url)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "sepl_certificate"}
    assert tls_platform.logins == 0

    entry = await setup(wait=False, **{CONF_URL: tls_platform.url})  # verification on
    client = connector_of(entry).client
    assert client is not None
    await until(lambda: client.stats.last_error is not None)
    assert "certificate" in client.stats.last_error.lower()
    assert connector_of(entry).state is not ConnectionState.READY
    assert tls_platform.logins == 0
    issues = ir.async_get(hass)
    issue = issues.async_get_issue(DOMAIN, f"sepl_certificate_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "sepl_certificate"
    assert issue.translation_placeholders["url"] == tls_platform.url
    assert "certificate" in issue.translation_placeholders["error"]
    # Verification turned off (as Reconfigure does): connected, and the issue is gone.
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_VERIFY_SSL: False})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await synced(tls_platform, entry)
    assert issues.async_get_issue(DOMAIN, f"sepl_certificate_{entry.entry_id}") is None
    await hass.config_entries.async_unload(entry.entry_id)

    result = await _flow(hass, tls_platform.url, verify=False)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["data"][CONF_VERIFY_SSL] is False
    await synced(tls_platform, result["result"])
    await hass.config_entries.async_unload(result["result"].entry_id)
