"""Absolute URLs that other devices in the room can open."""

from __future__ import annotations

from flask import current_app, request, url_for

from facilitator.core.netinfo import is_loopback_host, lan_address
from facilitator.domain.workshops import Workshop


def room_base_url() -> str:
    """The base URL phones should use: the configured public URL, or this host
    with the LAN address in place of a loopback name."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return str(public).rstrip("/")
    host = request.host
    if is_loopback_host(host):
        port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
        host = lan_address() + (f":{port}" if port else "")
    return f"{request.scheme}://{host}"


def join_url(workshop: Workshop) -> str:
    return room_base_url() + url_for("join.workshop", code=workshop.code)


def projector_url(workshop: Workshop) -> str:
    return room_base_url() + url_for(
        "workshops.projector", workshop_id=workshop.id, key=workshop.projector_key
    )
