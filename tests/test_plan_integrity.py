"""Nothing a screen saves can make the plan wrong: dates are real dates in order, a
text no UTF-8 can hold is refused where it comes in, and one organisation typed two
ways is one organisation everywhere it is counted."""

from __future__ import annotations

import pytest

from facilitator.core.text import name_key
from facilitator.domain import accountability

from .support import LiveClient, join
from .test_plan import add, goto


@pytest.fixture
def planning(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    goto(console, "action_plan")
    yield {"console": console, **room}
    console.close()


def refusal(ack):
    """The code and the field of a refused action."""
    assert ack["ok"] is False, ack
    return ack["error"]["code"], ack["error"].get("details", {}).get("field")


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"due": "0025-12-31"}, "due", "between 2000 and 2100"),
        ({"start": "2101-01-01"}, "start", "between 2000 and 2100"),
        ({"due": "2027-02-30"}, "due", "is not a date"),
        ({"due": "27-06-30"}, "due", "YYYY-MM-DD"),
        ({"start": "2027-06-30", "due": "2027-01-31"}, "due", "before the start"),
        ({"due": "2027-06-30", "review_date": "2027-09-30"}, "review_date", "after the due"),
    ],
)
def test_dates_out_of_range_or_out_of_order_are_refused_with_the_field(
    planning, fields, field, words
):
    console = planning["console"]
    ack = console.call("plan:add", {"fields": {"activity": "Recruit", **fields}})
    assert refusal(ack) == ("invalid", field)
    assert words in ack["error"]["message"]
    row = add(console, activity="Recruit", start="2027-01-01", due="2027-06-30")
    edit = console.call(
        "plan:edit",
        {
            "action": row["id"],
            "changes": fields,
            "versions": {k: row["versions"].get(k, 0) for k in fields},
        },
    )
    assert refusal(edit) == ("invalid", field)
    # Nothing of the refused edit was kept.
    snapshot = console.call("sync:request", {}, with_id=False)["snapshot"]
    stored = next(a for a in snapshot["plan"]["actions"] if a["id"] == row["id"])
    assert (stored["fields"]["start"], stored["fields"]["due"]) == ("2027-01-01", "2027-06-30")


def test_a_valid_date_is_stored_as_given(planning):
    row = add(planning["console"], activity="Recruit", start="2027-01-01", due="2027-06-30",
              review_date="2027-03-31")  # fmt: skip
    assert (row["fields"]["due"], row["fields"]["review_date"]) == ("2027-06-30", "2027-03-31")


def test_an_invalid_date_saved_before_the_checks_counts_as_no_due_date() -> None:
    actions = [
        {"ref": "A1", "lead": "WHO", "due": "0025-12-31"},
        {"ref": "A2", "lead": "WHO", "due": "2027-06-30"},
        {"ref": "A3", "lead": "WHO", "due": ""},
    ]
    assert accountability.gaps(actions, ["WHO"], [])["no_due_date"] == ["A1", "A3"]


def test_a_lone_surrogate_is_refused_where_it_comes_in_and_freeze_still_works(planning):
    console = planning["console"]
    row = add(console, activity="Train nurses", lead="Ministry of Health", due="2027-06-30",
              indicator="Nurses trained")  # fmt: skip
    broken = "Train \ud800 nurses"
    for payload in (
        {"action": row["id"], "changes": {"activity": broken}, "versions": {"activity": 1}},
        {"action": row["id"], "changes": {"partners": ["WHO", broken]}, "versions": {}},
    ):
        ack = console.call("plan:edit", payload)
        code, field = refusal(ack)
        assert code == "invalid" and field.startswith("changes.")
        assert "lone surrogate" in ack["error"]["message"]
    ack = console.call("plan:add", {"fields": {"activity": "x", broken: "y"}})
    assert refusal(ack)[0] == "invalid"
    frozen = console.call("plan:freeze", {})
    assert frozen["ok"], frozen  # never "internal": nothing unencodable was stored


def test_one_organisation_typed_two_ways_is_one_row_everywhere(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    phones = [
        LiveClient(
            base, workshop.id, "phone", join(base, workshop.code, name, org, "Health")
        ).connect()
        for name, org in (
            ("Amina", "Ministry of Health"),
            ("Bilal", "ministry of  health"),
            ("Chen", "ＭＩＮＩＳＴＲＹ OF HEALTH"),  # full-width letters, as some keyboards type
            ("Dana", "WHO"),
        )
    ]
    try:
        voice = console.call("voice:get", {}, with_id=False)
        assert voice["ok"], voice
        rows = {r["name"]: r["present"] for r in voice["by_organisation"]}
        assert rows == {"Ministry of Health": 3, "WHO": 1}
        presence = console.call("sync:request", {}, with_id=False)["snapshot"]["presence"]
        assert presence["organisations"] == 2
        assert presence["organisation_names"] == ["Ministry of Health", "WHO"]
    finally:
        for client in (console, *phones):
            client.close()


def test_the_name_key_folds_case_spaces_and_compatibility_forms() -> None:
    assert name_key("  Ministry of\u00a0Health ") == name_key("MINISTRY OF HEALTH")
    assert name_key("ＷＨＯ") == name_key("who")
    assert name_key("Lady Health Workers' Association") != name_key("Lady Health Workers")
    assert name_key(None) == ""
