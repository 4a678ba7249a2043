"""The permission matrix of docs/security.md is what the server enforces: every
event sent as every role, from real sockets (and as a visitor, through the pipeline)."""

from __future__ import annotations

import re

from facilitator.actions.pipeline import perform
from facilitator.actions.spec import REGISTRY, Caller
from facilitator.core.config import PROJECT_ROOT

from .support import LiveClient, error_code, join

ROLES = ("facilitator", "projector", "participant", "visitor")
ROW_RE = re.compile(r"^\| `([a-z_]+:[a-z_]+)` \| (.+) \|$", re.M)


def documented() -> dict[str, dict[str, object]]:
    doc = (PROJECT_ROOT / "docs" / "security.md").read_text()
    rows = {}
    for name, cells in ROW_RE.findall(doc):
        parts = [c.strip() for c in cells.split("|")]
        rows[name] = {
            "roles": {r for r, cell in zip(ROLES, parts[:4], strict=True) if cell == "yes"},
            "stages": {s.strip() for s in parts[4].split(",") if s.strip()},
        }
    return rows


def test_the_documented_matrix_is_the_registry(app):
    rows = documented()
    assert set(rows) == set(REGISTRY)
    for name, spec in REGISTRY.items():
        assert rows[name]["roles"] == set(spec.roles), name
        stages = set(spec.stage_types or ()) if "participant" in spec.roles else set()
        assert rows[name]["stages"] == stages, name


def test_every_event_is_refused_to_every_role_the_matrix_leaves_out(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phone = LiveClient(
        base, workshop.id, "phone", join(base, workshop.code, "Amina", "MoH", "Health")
    ).connect()
    visitor = Caller("visitor", workshop.id, visitor_id="v-permissions")
    try:
        # The facilitator goes last: some of its events change the workshop (closing it).
        for role, send in (
            ("projector", lambda n: projector.call(n, {})),
            ("participant", lambda n: phone.call(n, {})),
            ("visitor", lambda n: perform(visitor, n, {"action_id": "a" * 16})),
            ("facilitator", lambda n: console.call(n, {})),
        ):
            for name, spec in sorted(REGISTRY.items()):
                ack = send(name)
                code = None if ack.get("ok") else error_code(ack)
                if role in spec.roles:
                    assert code not in ("forbidden", "unknown_event"), (role, name, ack)
                else:
                    assert code == "forbidden", (role, name, ack)
    finally:
        for client in (console, projector, phone):
            client.close()
