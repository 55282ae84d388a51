"""Which host names and addresses reach this machine only: shared by ``tunelab serve`` (it
refuses to listen beyond loopback without API keys) and the API's ``Host`` guard."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (bracketed or not) and the loopback names; anything else may
    be reachable from outside."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
