"""Share of voice per organisation and sector, and putting it on the projector."""

from __future__ import annotations

from .support import LiveClient, error_code, join


def test_share_of_voice_counts_activity_against_presence(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    donor = LiveClient(
        base,
        workshop.id,
        "phone",
        join(base, workshop.code, "Dora", "Donor Agency", "Development partners"),
    ).connect()
    ministry = [
        LiveClient(
            base, workshop.id, "phone", join(base, workshop.code, n, "Ministry of Health", "Health")
        ).connect()
        for n in ("Amina", "Bilal", "Chen")
    ]
    try:
        stages = {s["type"]: s["id"] for s in console.snapshots[0]["stages"]}
        console.call("stage:goto", {"stage_id": stages["board"]})
        for i in range(4):  # the donor writes four notes, the ministry none
            assert donor.call("note:create", {"text": f"Idea {i}", "x": 10, "y": 10})["ok"]
        console.call("stage:goto", {"stage_id": stages["agenda"]})
        assert ministry[0].call("agenda:propose", {"title": "Retention"})["ok"]
        voice = console.call("voice:get", {}, with_id=False)
        assert voice["ok"]
        orgs = {row["name"]: row for row in voice["by_organisation"]}
        assert orgs["Donor Agency"]["present"] == 1 and orgs["Donor Agency"]["notes"] == 4
        assert (
            orgs["Donor Agency"]["present_share"] == 0.25
            and orgs["Donor Agency"]["notes_share"] == 1.0
        )
        assert (
            orgs["Ministry of Health"]["proposals"] == 1
            and orgs["Ministry of Health"]["notes"] == 0
        )
        assert orgs["Donor Agency"]["voice_ratio"] > 1 > orgs["Ministry of Health"]["voice_ratio"]
        sectors = {row["name"]: row for row in voice["by_sector"]}
        assert sectors["Health"]["present"] == 3
        assert projector.call("voice:get", {}, with_id=False)["ok"]
        assert error_code(donor.call("voice:get", {}, with_id=False)) == "forbidden"

        assert console.call("display:set", {"share_of_voice": True})["ok"]
        shown = projector.event_of("workshop:display")["data"]["display"]
        assert shown == {"share_of_voice": True}
        assert error_code(projector.call("display:set", {"share_of_voice": False})) == "forbidden"
        assert error_code(donor.call("display:set", {"share_of_voice": False})) == "forbidden"
    finally:
        for client in (console, projector, donor, *ministry):
            client.close()
