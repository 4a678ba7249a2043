"""Importing organisations from a CSV file on the console: each row added as the console
would add it, a name with commas kept whole, bad rows named by line, a second upload of
the same file adding nothing twice."""

from __future__ import annotations

from typing import Any

from .support import LiveClient, csrf_from

CSV = (
    "name,short_name,sector,other_names,emails\n"
    '"Department of Health, Punjab",DoH,Health,Health Department Punjab,doh@punjab.example\n'
    "Lady Health Workers Association,LHWA,Civil society,,\n"
    ",,,,\n"
    "World Health Organization,WHO,Development partners,OMS; Organisation mondiale de la Santé,\n"
    "who,,,,\n"
    "Bad Mail,,,,not-an-address\n"
)


def upload(room: dict[str, Any], data: bytes) -> tuple[int, str]:
    http, workshop = room["facilitator"], room["workshop"]
    page = http.get(f"{room['base']}/w/{workshop.id}/console", timeout=10)
    answer = http.post(
        f"{room['base']}/w/{workshop.id}/organisations/import",
        data={"csrf_token": csrf_from(page.text)},
        files={"file": ("partners.csv", data, "text/csv")},
        timeout=30,
    )
    return answer.status_code, answer.text


def test_a_csv_adds_each_row_once_and_names_the_lines_it_refused(room):
    workshop = room["workshop"]
    console = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        status, page = upload(room, CSV.encode())
        assert status == 200, page
        assert "Line 6:" in page and "already an organisation" in page  # "who" is WHO's short name
        assert "Line 7:" in page and "not-an-address is not an e-mail address" in page
        state = console.call("sync:request", {}, with_id=False)["snapshot"]
        names = [o["name"] for o in state["organisations"]]
        assert names == [
            "Department of Health, Punjab",
            "Lady Health Workers Association",
            "World Health Organization",
        ]
        doh = state["organisations"][0]
        assert doh["short_name"] == "DoH" and doh["emails"] == ["doh@punjab.example"]
        assert state["organisations"][2]["other_names"] == [
            "OMS",
            "Organisation mondiale de la Santé",
        ]
        added = [e for e in console.events if e["type"] == "organisation:added"]
        assert len(added) == 3
        # The same file again: every row answered from its receipt, nothing added.
        again, _ = upload(room, CSV.encode())
        assert again == 200
        state = console.call("sync:request", {}, with_id=False)["snapshot"]
        assert len(state["organisations"]) == 3
    finally:
        console.close()


def test_a_file_that_is_not_an_organisation_csv_is_refused_with_the_reason(room):
    status, page = upload(room, b"\xff\xfe not utf-8")
    assert status == 400 and "not UTF-8" in page
    status, page = upload(room, b"organisation,sector\nWHO,Health\n")
    assert status == 400 and "among them name" in page
    status, page = upload(room, b"name,phone\nWHO,123\n")
    assert status == 400 and "Unknown column phone" in page
    status, page = upload(room, b"")
    assert status == 400 and "Choose a CSV file" in page
    many = "name\n" + "".join(f"Organisation {i}\n" for i in range(501))
    status, page = upload(room, many.encode())
    assert status == 400 and "at most 500 organisations" in page
