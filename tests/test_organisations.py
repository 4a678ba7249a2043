"""Partner organisations as rows: found by any of their names when people join, added
(flagged) when new, merged by the facilitator with everything that names them, and
made from what was typed before by the migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from facilitator.core.db import db
from facilitator.core.migrate import upgrade
from facilitator.domain.organisations import Organisation
from facilitator.domain.polls import Ballot
from facilitator.domain.workshops import Participant

from .postgres import pg_url  # noqa: F401 - fixture
from .support import LiveClient, error_code, join
from .test_plan import add, goto
from .test_poll_groups import database_url  # noqa: F401 - the SQLite and PostgreSQL fixture


def state(client: LiveClient) -> dict[str, Any]:
    return client.call("sync:request", {}, with_id=False)["snapshot"]


def organisations(client: LiveClient) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in state(client)["organisations"]}


def register(console: LiveClient, **fields: Any) -> dict[str, Any]:
    ack = console.call("organisation:add", {"organisation": fields})
    assert ack["ok"], ack
    return ack["organisation"]


def phone(room: dict[str, Any], name: str, organisation: str, sector: str = "Health"):
    base, workshop = room["base"], room["workshop"]
    return LiveClient(
        base, workshop.id, "phone", join(base, workshop.code, name, organisation, sector)
    ).connect()


def test_people_join_the_organisation_by_any_of_its_names_and_new_ones_are_flagged(room):
    workshop = room["workshop"]
    console = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    who = register(console, name="World Health Organization", short_name="WHO",
                   other_names=["Organisation mondiale de la Santé"], sector="Development partners",
                   emails=["country@who.example"])  # fmt: skip
    assert who["flagged"] is False
    phones = [
        phone(room, "Bilal", "who", "Development partners"),
        phone(room, "Claire", "organisation  mondiale de la santé", "Development partners"),
        phone(room, "Dina", "W.H.O.", "Development partners"),
    ]
    try:
        people = {p["name"]: p for p in state(console)["participants"]}
        assert people["Bilal"]["organisation"] == "World Health Organization"
        assert people["Claire"]["organisation_id"] == who["id"]
        orgs = organisations(console)
        assert set(orgs) == {"World Health Organization", "W.H.O."}
        added = orgs["W.H.O."]
        assert added["flagged"] is True and who["id"] in added["near"]
        assert console.event_of("organisation:added")["data"]["organisation"]["name"]
        # Contacts are the facilitator's: a phone sees the names only.
        seen = {o["name"]: o for o in state(phones[0])["organisations"]}
        assert "emails" not in seen["World Health Organization"]
        assert "near" not in seen["World Health Organization"]
        # A second organisation may not take a name the first answers to.
        clash = console.call("organisation:add", {"organisation": {"name": "  WHO "}})
        assert error_code(clash) == "conflict"
        assert clash["error"]["details"]["organisation_id"] == who["id"]
        assert error_code(phones[0].call("organisation:add", {"organisation": {"name": "X"}})) == (
            "forbidden"
        )
    finally:
        for client in (console, *phones):
            client.close()


def test_a_merge_moves_people_plan_ballots_voice_and_signoff_to_one_name(room):
    workshop = room["workshop"]
    console = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    kept = register(console, name="Lady Health Workers Association", sector="Civil society")
    phones = [
        phone(room, "Amina", "Lady Health Workers Association", "Civil society"),
        phone(room, "Bano", "LHW Association", "Civil society"),
        phone(room, "Chen", "LHW Association", "Civil society"),
        phone(room, "Dana", "Ministry of Health"),
    ]
    try:
        gone = organisations(console)["LHW Association"]
        assert gone["flagged"] is True
        goto(console, "action_plan")
        row = add(console, activity="Train lady health workers", lead="LHW Association",
                  partners=["Ministry of Health", "LHW Association, Punjab chapter"],
                  indicator="Workers trained", due="2027-06-30")  # fmt: skip
        # A poll grouped by organisation, with the two spellings voting.
        goto(console, "vote")
        poll = console.call("poll:create", {"title": "Adopt the plan", "method": "yes_no",
                                            "group_by": "organisation"})["poll"]  # fmt: skip
        assert console.call("poll:open", {"poll_id": poll["id"]})["ok"]
        for client in phones:
            assert client.call("poll:vote", {"poll_id": poll["id"], "choice": "yes"})["ok"]
        bano = next(p for p in state(console)["participants"] if p["name"] == "Bano")
        assert console.call("signoff:name", {"participant_id": bano["id"]})["ok"]

        merged = console.call(
            "organisation:merge", {"organisation_id": gone["id"], "into_id": kept["id"]}
        )
        assert merged["ok"], merged
        assert merged["merged_id"] == gone["id"]
        assert "LHW Association" in merged["organisation"]["other_names"]

        after = state(console)
        # The partner named in the plan is an organisation of its own, not merged.
        assert {o["name"] for o in after["organisations"]} == {
            "Lady Health Workers Association",
            "Ministry of Health",
            "LHW Association, Punjab chapter",
        }
        people = {p["name"]: p for p in after["participants"]}
        assert people["Bano"]["organisation"] == "Lady Health Workers Association"
        assert people["Chen"]["organisation_id"] == kept["id"]
        action = next(a for a in after["plan"]["actions"] if a["id"] == row["id"])
        assert action["fields"]["lead"] == "Lady Health Workers Association"
        # A partner whose name only starts like the organisation is another partner.
        assert action["fields"]["partners"] == [
            "Ministry of Health",
            "LHW Association, Punjab chapter",
        ]
        assert action["versions"]["lead"] == row["versions"]["lead"] + 1
        assert any(e["type"] == "plan:updated" for e in console.events)
        reps = after["signoff"]["representatives"]
        assert [(r["organisation"], r["name"]) for r in reps] == [
            ("Lady Health Workers Association", "Bano")
        ]
        voice = console.call("voice:get", {}, with_id=False)
        rows = {r["name"]: r["present"] for r in voice["by_organisation"]}
        assert rows == {"Lady Health Workers Association": 3, "Ministry of Health": 1}
        closed = console.call("poll:close", {"poll_id": poll["id"]})
        assert closed["ok"], closed
        with db.reader() as s:
            names = set(s.scalars(select(Ballot.organisation).where(Ballot.organisation != "")))
        assert names == {"Lady Health Workers Association", "Ministry of Health"}
        # The frozen plan names one organisation, once.
        goto(console, "action_plan")
        frozen = console.call("plan:freeze", {})
        assert frozen["ok"], frozen
        canonical = state(console)["signoff"]["version"]
        assert canonical is not None
        # Merging into itself or into a missing row is refused.
        assert error_code(console.call(
            "organisation:merge", {"organisation_id": kept["id"], "into_id": kept["id"]}
        )) == "invalid"  # fmt: skip
        assert error_code(console.call(
            "organisation:merge", {"organisation_id": 999999, "into_id": kept["id"]}
        )) == "not_found"  # fmt: skip
    finally:
        for client in (console, *phones):
            client.close()


def test_two_organisations_that_both_signed_one_version_are_not_merged(room):
    workshop = room["workshop"]
    console = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    phones = [phone(room, "Amina", "Ministry of Health"), phone(room, "Bano", "MoH")]
    try:
        goto(console, "action_plan")
        add(console, activity="Recruit", lead="Ministry of Health", indicator="Posts filled",
            due="2027-06-30")  # fmt: skip
        version = console.call("plan:freeze", {})["version"]
        for name in ("Amina", "Bano"):
            person = next(p for p in state(console)["participants"] if p["name"] == name)
            assert console.call("signoff:name", {"participant_id": person["id"]})["ok"]
        goto(console, "signoff")
        for client, name in zip(phones, ("Amina", "Bano"), strict=True):
            ack = client.call("signoff:sign", {"version_id": version["id"], "decision": "endorse",
                                               "full_name": name, "title": "Director"})  # fmt: skip
            assert ack["ok"], ack
        orgs = organisations(console)
        refused = console.call("organisation:merge", {
            "organisation_id": orgs["MoH"]["id"], "into_id": orgs["Ministry of Health"]["id"],
        })  # fmt: skip
        assert error_code(refused) == "conflict"
        assert "both signed" in refused["error"]["message"]
        assert set(organisations(console)) == {"Ministry of Health", "MoH"}
    finally:
        for client in (console, *phones):
            client.close()


def test_the_migration_makes_one_row_per_organisation_and_rejoins_cut_partners(database_url):  # noqa: F811
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0010")
        tables = MetaData()
        tables.reflect(engine)
        now = datetime(2026, 12, 1, 9, 0)
        with engine.begin() as conn:
            conn.execute(tables.tables["users"].insert(), {
                "id": 1, "username": "fac", "display_name": "Fac", "password_hash": "x",
                "created_at": now,
            })  # fmt: skip
            conn.execute(tables.tables["workshops"].insert(), {
                "id": 1, "title": "Before", "owner_id": 1, "kit": "hrh-action-framework",
                "kit_data": {}, "code": "ABC123", "status": "live", "projector_key": "k" * 32,
                "seq": 0, "created_at": now, "language": "en", "display": {},
            })  # fmt: skip
            people = [
                ("Amina", "Ministry of Health"),
                ("Bilal", "ministry of  health"),
                ("Chen", "Department of Health, Punjab"),
            ]
            for index, (name, organisation) in enumerate(people, start=1):
                conn.execute(tables.tables["participants"].insert(), {
                    "id": index, "workshop_id": 1, "name": name, "organisation": organisation,
                    "sector": "Health", "email": "", "joined_at": now,
                })  # fmt: skip
            conn.execute(tables.tables["plan_actions"].insert(), {
                "id": 1, "workshop_id": 1, "number": 1, "accepted": True, "source_kind": "",
                "fields": {"activity": "Recruit", "lead": "Ministry of Health",
                           "partners": ["Department of Health", "Punjab", "Lady Health Workers"]},
                "versions": {}, "offers": [], "created_at": now, "updated_at": now,
            })  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                select(Organisation.name, Organisation.flagged).order_by(Organisation.id)
            ).all()
            assert [tuple(r) for r in rows] == [
                ("Ministry of Health", False),
                ("Department of Health, Punjab", False),
                ("Lady Health Workers", True),
            ]
            linked = dict(conn.execute(select(Participant.name, Participant.organisation_id)).all())
            assert linked["Amina"] == linked["Bilal"] != linked["Chen"]
            fields = conn.execute(select(tables.tables["plan_actions"].c.fields)).scalar_one()
            assert fields["partners"] == ["Department of Health, Punjab", "Lady Health Workers"]
    finally:
        engine.dispose()
