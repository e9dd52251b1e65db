"""Where the families' LAN discovery broadcasts go: the networks the user enabled.

Shared by the MaxSmart (UDP 8888, ``docs/protocols/maxsmart.md`` §2) and Midea (UDP 6445/20086,
``docs/protocols/midea.md`` §1) discovery, so that neither family sends a datagram to a network
the user turned off in Settings -> System -> Network.
"""

from ipaddress import IPv4Interface

from homeassistant.components import network
from homeassistant.core import HomeAssistant


async def async_discovery_targets(hass: HomeAssistant) -> list[str]:
    """Broadcast addresses of the adapters enabled in Home Assistant's network settings.

    Each enabled adapter's IPv4 networks give their directed broadcast address (for example
    ``192.168.1.255``, or ``127.255.255.255`` for loopback), so discovery reaches exactly the
    networks the user chose and never leaves them. Host routes (``/32``) have no broadcast
    address and are skipped. Returns the addresses sorted, without duplicates.
    """
    targets: set[str] = set()
    for adapter in await network.async_get_adapters(hass):
        if not adapter["enabled"]:
            continue
        for address in adapter["ipv4"]:
            interface = IPv4Interface(f"{address['address']}/{address['network_prefix']}")
            if interface.network.prefixlen < 32:
                targets.add(str(interface.network.broadcast_address))
    return sorted(targets)
