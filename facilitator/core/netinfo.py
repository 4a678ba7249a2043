"""The laptop's address on the local network, for the URLs phones open."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}  # noqa: S104


def lan_address() -> str:
    """The IPv4 address other devices on the Wi-Fi can reach, or 127.0.0.1.

    Connecting a UDP socket sends nothing; it only asks the kernel which
    interface would route to a private address.
    """
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                address = s.getsockname()[0]
        except OSError:
            continue
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return "127.0.0.1"


def is_loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in LOOPBACK_NAMES
