"""Every shipped kit, run end to end by the real server with Socket.IO clients: stage
by stage, one action of each stage type, to a signed plan whose JSON matches its hash."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from facilitator.core.config import PROJECT_ROOT
from facilitator.core.db import db
from facilitator.domain.kits import KitLibrary
from facilitator.domain.seeding import create_workshop

from .support import LiveClient, join

SHIPPED = KitLibrary(PROJECT_ROOT / "workshop_kits")
PEOPLE = [
    ("Amina", "Health Department", 0),
    ("Bilal", "UNICEF", 1),
    ("Chen", "Planning Department", 2),
]


def snapshot(client: LiveClient) -> dict[str, Any]:
    return client.call("sync:request", {}, with_id=False)["snapshot"]


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack["ok"], ack
    return ack


def run_stage(stage: dict[str, Any], console: LiveClient, phones: list[LiveClient]) -> None:
    """One action of the stage's type, as the room would take it."""
    kind = stage["type"]
    if kind == "welcome":
        ok(phones[0].call("participant:update", {"name": "Amina Y."}))
    elif kind == "board":
        board = snapshot(console)["boards"][str(stage["id"])]
        ok(phones[1].call("note:create", {"text": "Posts stay vacant", "x": 100, "y": 100}))
        for group in board["groups"]:  # areas the kit prepared
            assert group["title"]
    elif kind == "stakeholder_map":
        ok(phones[2].call("stakeholder:add", {"name": "Parliamentary health committee"}))
    elif kind == "agenda":
        item = ok(phones[0].call("agenda:propose", {"title": "Retention in rural posts"}))["item"]
        ok(phones[1].call("agenda:dot", {"dots": {str(item["id"]): 1}}))
    elif kind == "vote":
        polls = [
            p["poll"] for p in snapshot(console)["polls"] if p["poll"]["stage_id"] == stage["id"]
        ]
        if not polls:
            created = console.call("poll:create", {"title": "Proceed?", "method": "consensus"})
            polls = [ok(created)["poll"]]
        poll = polls[0]
        ok(console.call("poll:open", {"poll_id": poll["id"]}))
        choice = poll["choices"][0][0] if poll["choices"] else {"0": 1}
        if poll["method"] == "ranked":
            choice = list(range(len(poll["config"]["options"])))
        for phone in phones:
            ok(phone.call("poll:vote", {"poll_id": poll["id"], "choice": choice}))
        closed = ok(console.call("poll:close", {"poll_id": poll["id"]}))
        assert closed["round"]["outcome"]["turnout"] == len(phones)
    elif kind == "action_plan":
        row = ok(
            console.call(
                "plan:add",
                {
                    "fields": {
                        "activity": "Quarterly review of the plan",
                        "lead": "UNICEF",
                        "due": "2027-03-31",
                        "indicator": "Reviews held",
                    }
                },
            )
        )["action"]
        ok(phones[0].call("plan:offer", {"action": row["id"], "role": "partner"}))
    elif kind == "signoff":
        version = ok(console.call("plan:freeze", {}))["version"]
        me = phones[1].snapshots[0]["me"]
        ok(console.call("signoff:name", {"participant_id": me["id"]}))
        ok(
            phones[1].call(
                "signoff:sign",
                {
                    "version_id": version["id"],
                    "decision": "endorse",
                    "full_name": "Bilal Khan",
                    "title": "Nutrition Officer",
                },
            )
        )


@pytest.mark.parametrize("name", SHIPPED.names())
def test_every_shipped_kit_runs_from_welcome_to_a_signed_plan(name, factory, live_server):
    kit = SHIPPED.load(name)
    user_id, username = factory.user()
    with db.transaction() as s:
        workshop = create_workshop(s, user_id, name, kit, "")
        s.expunge(workshop)
    from .conftest import PASSWORD
    from .support import login

    console = LiveClient(
        live_server, workshop.id, "console", login(live_server, username, PASSWORD)
    ).connect()
    phones = []
    for person, organisation, sector in PEOPLE:
        http = join(live_server, workshop.code, person, organisation, kit.sectors[sector])
        phones.append(LiveClient(live_server, workshop.id, "phone", http).connect())
    try:
        stages = console.snapshots[0]["stages"]
        assert [s["key"] for s in stages] == [s.id for s in kit.stages]
        for index, stage in enumerate(stages):
            if index:
                ack = ok(console.call("stage:next", {"from_stage_id": stages[index - 1]["id"]}))
                assert ack["stage_id"] == stage["id"]
            run_stage(stage, console, phones)
        signoff = snapshot(console)["signoff"]
        assert [s["organisation"] for s in signoff["version"]["signatures"]] == ["UNICEF"]
        body = requests.get(
            f"{live_server}{signoff['version']['share_path']}.json", timeout=10
        ).content
        assert hashlib.sha256(body).hexdigest() == signoff["version"]["sha256"]
    finally:
        for client in (console, *phones):
            client.close()
