"""Poll results by organisation (a poll's ``group_by``) over the real server: names
matched, small organisations folded in anonymous polls, every organisation shown in
named ones; the kit setting, its error, and the migration that adds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from facilitator.core.config import PROJECT_ROOT
from facilitator.core.db import db, engine_url
from facilitator.core.migrate import current, upgrade
from facilitator.core.text import name_key
from facilitator.domain import polls
from facilitator.domain.kits import KitError, KitLibrary, parse_kit
from facilitator.domain.seeding import create_workshop
from facilitator.domain.workshops import Workshop

from .conftest import PASSWORD
from .postgres import pg_url  # noqa: F401 - fixture
from .support import LiveClient, error_code, join, login

SHIPPED = KitLibrary(PROJECT_ROOT / "workshop_kits")
BY_ORG = {"group_by": "organisation"}


@contextmanager
def voting(room: dict[str, Any], people: list[tuple[str, str, str]]) -> Iterator[dict[str, Any]]:
    """Console, projector and one phone per (name, organisation, sector), in the first
    vote stage of the room's workshop."""
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phones = [
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, *p)).connect()
        for p in people
    ]
    try:
        stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
        assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        yield {"console": console, "projector": projector, "phones": phones, "stage": stage}
    finally:
        for client in (console, projector, *phones):
            client.close()


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack["ok"], ack
    return ack


def run_poll(screens: dict[str, Any], choices: list[str], **settings: Any) -> dict[str, Any]:
    """A yes/no poll created, opened, voted on by every phone and closed; its outcome."""
    console = screens["console"]
    poll = ok(console.call("poll:create", {"title": "Adopt it", "method": "yes_no", **settings}))
    ok(console.call("poll:open", {"poll_id": poll["poll"]["id"]}))
    for phone, choice in zip(screens["phones"], choices, strict=True):
        ok(phone.call("poll:vote", {"poll_id": poll["poll"]["id"], "choice": choice}))
    return ok(console.call("poll:close", {"poll_id": poll["poll"]["id"]}))


def ballots_of(poll_id: int) -> list[Any]:
    with db.reader() as s:
        return list(
            s.execute(
                select(polls.Ballot.organisation, polls.Ballot.voter_key)
                .join(polls.PollRound, polls.PollRound.id == polls.Ballot.round_id)
                .where(polls.PollRound.poll_id == poll_id)
                .order_by(polls.Ballot.id)
            )
        )


def test_anonymous_results_by_organisation_match_names_and_fold_small_ones(room):
    people = [
        ("Amina", "Ministry of Health", "Health"),
        ("Bilal", "ministry of  HEALTH", "Finance"),  # the same organisation, typed otherwise
        ("Chen", "Ministry of health", "Education"),
        ("Dora", "UNICEF", "Development partners"),
        ("Eli", "Unicef", "Development partners"),
        ("Fay", "UNICEF", "Health"),
        ("Gul", "WHO", "Development partners"),
        ("Hira", "Save the Children", "Health"),
        ("Ivo", "World Vision", "Health"),
    ]
    choices = ["yes", "yes", "no", "no", "no", "abstain", "yes", "no", "yes"]
    with voting(room, people) as screens:
        closed = run_poll(screens, choices, group_by="organisation")
        outcome = closed["round"]["outcome"]
        assert closed["poll"]["group_by"] == "organisation"
        assert outcome["group_by"] == "organisation"
        by_group = outcome["by_group"]
        # Three organisations of one voter each fold into "other", which then has three.
        assert {name: g["voters"] for name, g in by_group.items()} == {
            "Ministry of Health": 3,
            "UNICEF": 3,
            "other": 3,
        }
        assert by_group["Ministry of Health"]["counts"] == {"yes": 2, "no": 1, "abstain": 0}
        assert by_group["UNICEF"]["counts"] == {"yes": 0, "no": 2, "abstain": 1}
        assert by_group["other"]["counts"] == {"yes": 2, "no": 1, "abstain": 0}
        # The screens get the grouping with the outcome, and the poll carries it too.
        event = screens["projector"].event_of("poll:closed")["data"]
        assert event["round"]["outcome"]["group_by"] == "organisation"
        state = screens["projector"].call("sync:request", {}, with_id=False)["snapshot"]
        entry = next(e for e in state["polls"] if e["poll"]["id"] == closed["poll"]["id"])
        assert entry["poll"]["group_by"] == "organisation"
        assert entry["rounds"][0]["outcome"]["by_group"] == by_group
        text = json.dumps([closed, event, state["polls"]])
        for small in ("WHO", "Save the Children", "World Vision"):
            assert small not in text
    stored = ballots_of(closed["poll"]["id"])
    # Each ballot names the voter's organisation row: one name, as it was first written.
    first: dict[str, str] = {}
    for person in people:
        first.setdefault(name_key(person[1]), " ".join(person[1].split()))
    assert sorted(b.organisation for b in stored) == sorted(first[name_key(p[1])] for p in people)
    assert all(b.voter_key is None for b in stored)  # anonymous: the link is gone once closed


def test_other_grows_until_no_small_organisation_can_be_worked_out(room):
    people = [
        ("Amina", "Ministry of Health", "Health"),
        ("Bilal", "Ministry of Health", "Health"),
        ("Chen", "Ministry of Health", "Health"),
        ("Dora", "UNICEF", "Development partners"),
        ("Eli", "UNICEF", "Development partners"),
        ("Fay", "UNICEF", "Development partners"),
        ("Gul", "UNICEF", "Development partners"),
        ("Hira", "WHO", "Development partners"),
    ]
    with voting(room, people) as screens:
        closed = run_poll(screens, ["yes"] * 7 + ["no"], group_by="organisation")
    by_group = closed["round"]["outcome"]["by_group"]
    # WHO alone would be "other" with one voter, readable as the total minus the rest:
    # the smallest organisation folds in too.
    assert {name: g["voters"] for name, g in by_group.items()} == {"UNICEF": 4, "other": 4}
    assert all(g["voters"] >= polls.MIN_GROUP for g in by_group.values())


def test_named_polls_show_every_organisation(room):
    people = [
        ("Amina", "Ministry of Health", "Health"),
        ("Dora", "UNICEF", "Development partners"),
        ("Gul", "WHO", "Development partners"),
    ]
    with voting(room, people) as screens:
        closed = run_poll(screens, ["yes", "no", "yes"], group_by="organisation", anonymous=False)
    by_group = closed["round"]["outcome"]["by_group"]
    assert {name: g["voters"] for name, g in by_group.items()} == {
        "Ministry of Health": 1,
        "UNICEF": 1,
        "WHO": 1,
    }


def test_sector_polls_keep_no_organisation_and_none_shows_no_groups(room):
    people = [
        ("Amina", "Ministry of Health", "Health"),
        ("Bilal", "Provincial Health Dept", "Health"),
        ("Chen", "District Health Office", "Health"),
    ]
    with voting(room, people) as screens:
        console = screens["console"]
        closed = run_poll(screens, ["yes", "yes", "no"])
        assert closed["poll"]["group_by"] == "sector"  # the stage sets nothing: by sector
        outcome = closed["round"]["outcome"]
        assert outcome["group_by"] == "sector" and outcome["by_group"]["Health"]["voters"] == 3
        # A ballot keeps the organisation only when the round groups by it.
        assert [b.organisation for b in ballots_of(closed["poll"]["id"])] == ["", "", ""]

        poll_id = closed["poll"]["id"]
        amended = ok(console.call("poll:amend", {"poll_id": poll_id, "group_by": "none"}))
        assert amended["poll"]["group_by"] == "none"
        ok(console.call("poll:open", {"poll_id": poll_id}))
        refused = console.call("poll:amend", {"poll_id": poll_id, "group_by": "organisation"})
        assert error_code(refused) == "conflict"  # fixed while the round is open
        for phone in screens["phones"]:
            ok(phone.call("poll:vote", {"poll_id": poll_id, "choice": "yes"}))
        second = ok(console.call("poll:close", {"poll_id": poll_id}))["round"]["outcome"]
        assert second["group_by"] == "none" and second["by_group"] == {}

        bad = console.call(
            "poll:create", {"title": "x", "method": "yes_no", "group_by": "organization"}
        )
        assert error_code(bad) == "invalid"


def test_the_partnership_health_check_rates_by_organisation(factory, live_server):
    kit = SHIPPED.load("partnership-health-check")
    ratings = next(s for s in kit.stages if s.id == "ratings")
    assert ratings.config["group_by"] == "organisation"
    assert all(p["group_by"] == "organisation" for p in ratings.config["polls"])
    user_id, username = factory.user()
    with db.transaction() as s:
        workshop = create_workshop(s, user_id, "partnership-health-check", kit, "")
        s.expunge(workshop)
    room = {"base": live_server, "workshop": workshop}
    room["facilitator"] = login(live_server, username, PASSWORD)
    people = [
        (name, organisation, kit.sectors[0 if organisation == "Health Department" else 1])
        for name, organisation in [
            ("Amina", "Health Department"),
            ("Bilal", "Health Department"),
            ("Chen", "Health Department"),
            ("Dora", "UNICEF"),
            ("Eli", "UNICEF"),
            ("Fay", "UNICEF"),
        ]
    ]
    with voting(room, people) as screens:
        console = screens["console"]
        state = console.call("sync:request", {}, with_id=False)["snapshot"]
        stage_id = screens["stage"]["id"]
        prepared = [e["poll"] for e in state["polls"] if e["poll"]["stage_id"] == stage_id]
        assert len(prepared) == 7 and prepared[0]["title"] == "Shared vision"
        assert {p["group_by"] for p in prepared} == {"organisation"}
        vision = prepared[0]["id"]
        ok(console.call("poll:open", {"poll_id": vision}))
        for phone, rating in zip(screens["phones"], [4, 5, 4, 2, 2, 3], strict=True):
            ok(phone.call("poll:vote", {"poll_id": vision, "choice": rating}))
        outcome = ok(console.call("poll:close", {"poll_id": vision}))["round"]["outcome"]
        assert outcome["group_by"] == "organisation"
        medians = {name: g["median"] for name, g in outcome["by_group"].items()}
        assert medians == {"Health Department": 4, "UNICEF": 2}  # where partners differ
        # A poll the facilitator adds in this stage groups by organisation too.
        added = ok(console.call("poll:create", {"title": "One more", "method": "scale"}))
        assert added["poll"]["group_by"] == "organisation"


@pytest.mark.browser
def test_the_projector_shows_results_by_organisation(pages, room):
    people = [("Amina", "Ministry of Health", "Health")] * 3 + [("Dora", "UNICEF", "Health")] * 3
    with voting(room, people) as screens:
        workshop = room["workshop"]
        projector = pages.open(
            "projector",
            f"/w/{workshop.id}/projector?key={workshop.projector_key}",
            width=1280,
            height=720,
        )
        projector.wait_text('[data-bind="stage-title"]', screens["stage"]["title"])
        console = screens["console"]
        poll = ok(console.call("poll:create", {"title": "Trust", "method": "scale", **BY_ORG}))
        ok(console.call("poll:open", {"poll_id": poll["poll"]["id"]}))
        for phone, rating in zip(screens["phones"], [4, 4, 5, 2, 1, 2], strict=True):
            ok(phone.call("poll:vote", {"poll_id": poll["poll"]["id"], "choice": rating}))
        ok(console.call("poll:close", {"poll_id": poll["poll"]["id"]}))
        projector.wait_for(
            "document.querySelector('[data-group-by]')?.dataset.groupBy === 'organisation'",
            "the results by organisation",
        )
        assert projector.text("[data-group-by] summary") == "By organisation"
        assert projector.evaluate(
            "document.querySelector('[data-group=\"UNICEF\"]').textContent"
        ).startswith("UNICEF (3): median 2")
        pages.assert_clean()


def test_a_bad_group_by_names_the_kit_the_stage_and_the_value():
    path = PROJECT_ROOT / "workshop_kits" / "partnership-health-check.toml"
    text = path.read_text()
    in_poll = text.replace('group_by = "organisation"\n', 'group_by = "organization"\n', 2)
    with pytest.raises(KitError) as caught:
        parse_kit(in_poll, "partnership-health-check.toml")
    message = str(caught.value)
    assert message.startswith("partnership-health-check.toml: ")
    assert "stages[1].config.group_by: 'organization' is not a way to group results" in message
    assert "config.polls[0].group_by: 'organization'" in message
    assert "use sector, organisation, none (stage 'ratings')" in message
    with pytest.raises(KitError) as caught:
        parse_kit(text.replace('group_by = "organisation"', "group_by = 2", 1), "k.toml")
    assert "group_by: 2 is not a way to group results" in str(caught.value)


def test_stage_design_takes_group_by_like_a_kit(room):
    with voting(room, []) as screens:
        console, stage = screens["console"], screens["stage"]
        config = {**stage["config"], "group_by": "organisation"}
        edited = ok(console.call("stage:edit", {"stage_id": stage["id"], "config": config}))
        row = next(s for s in edited["stages"] if s["id"] == stage["id"])
        assert row["config"]["group_by"] == "organisation"
        new = ok(console.call("poll:create", {"title": "Adopt it", "method": "yes_no"}))
        assert new["poll"]["group_by"] == "organisation"
        bad = console.call("stage:edit", {"stage_id": stage["id"], "config": {"group_by": "team"}})
        assert error_code(bad) == "invalid"
        assert "config.group_by: 'team' is not a way to group results" in bad["error"]["message"]


# -- the migration -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'existing.sqlite3'}"
    return engine_url(request.getfixturevalue("pg_url"))


def test_the_migration_keeps_existing_polls_by_sector(database_url):
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0008")
        tables = MetaData()
        tables.reflect(engine)
        now = datetime(2026, 11, 22, 9, 0)
        with engine.begin() as conn:
            conn.execute(
                tables.tables["users"].insert(),
                {
                    "id": 1,
                    "username": "fac",
                    "display_name": "Fac",
                    "password_hash": "x",
                    "created_at": now,
                },
            )
            conn.execute(
                tables.tables["workshops"].insert(),
                {
                    "id": 1,
                    "title": "Before",
                    "owner_id": 1,
                    "kit": "hrh-action-framework",
                    "kit_data": {},
                    "code": "ABC123",
                    "status": "live",
                    "projector_key": "k" * 32,
                    "seq": 0,
                    "created_at": now,
                },
            )
            common = {"proposal": "", "method": "yes_no", "config": {}, "rule": {}}
            conn.execute(
                tables.tables["polls"].insert(),
                {
                    "id": 1,
                    "workshop_id": 1,
                    "title": "Old poll",
                    "anonymous": True,
                    "results": "on_close",
                    "status": "open",
                    "round": 1,
                    "created_at": now,
                    **common,
                },
            )
            conn.execute(
                tables.tables["poll_rounds"].insert(),
                {"id": 1, "poll_id": 1, "number": 1, "anonymous": True, "opened_at": now, **common},
            )
            conn.execute(
                tables.tables["ballots"].insert(),
                {
                    "round_id": 1,
                    "voter_key": "a" * 64,
                    "sector": "Health",
                    "choice": "yes",
                    "reason": "",
                    "updated_at": now,
                },
            )
        upgrade(engine, "0009")
        assert current(engine) == "0009"
        with engine.connect() as conn:
            assert conn.execute(select(polls.Poll.group_by)).scalar_one() == "sector"
            ballot = conn.execute(
                select(polls.Ballot.sector, polls.Ballot.organisation, polls.Ballot.choice)
            ).one()
        assert tuple(ballot) == ("Health", "", "yes")
        # And on to the newest: a workshop from before languages is in English (0010).
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(Workshop.language)).scalar_one() == "en"
    finally:
        engine.dispose()
