"""Session design over the real server: stages added, edited, moved, duplicated and
removed on the workshop (never the kit), the schedule, drafts, duplicates, archive."""

from __future__ import annotations

import requests

from .support import LiveClient, csrf_from, error_code, join


def stages_of(client: LiveClient) -> list[dict]:
    return client.call("sync:request", {}, with_id=False)["snapshot"]["stages"]


def test_the_facilitator_reshapes_the_programme_and_every_screen_follows(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    phone = LiveClient(
        base, workshop.id, "phone", join(base, workshop.code, "Amina", "MoH", "Health")
    ).connect()
    try:
        first, second = stages_of(console)[:2]
        added = console.call(
            "stage:add",
            {
                "type": "board",
                "title": "Risks we see",
                "minutes": 20,
                "after_stage_id": first["id"],
            },
        )
        assert added["ok"], added
        titles = [s["title"] for s in added["stages"]]
        assert titles[1] == "Risks we see" and titles[2] == second["title"]
        seen = phone.event_of("stages:changed")["data"]
        assert [s["title"] for s in seen["stages"]] == titles
        new = added["stages"][1]
        assert new["key"] == "risks-we-see" and new["position"] == 1

        edited = console.call(
            "stage:edit",
            {
                "stage_id": new["id"],
                "prompt": "One risk per note.",
                "minutes": 25,
                "config": {"areas": ["Money", "People"], "authors": "anonymous"},
            },
        )
        row = next(s for s in edited["stages"] if s["id"] == new["id"])
        assert row["prompt"] == "One risk per note." and row["minutes"] == 25
        assert row["config"] == {"areas": ["Money", "People"], "authors": "anonymous"}
        groups = console.call("sync:request", {}, with_id=False)["snapshot"]["boards"]
        assert [g["title"] for g in groups[str(new["id"])]["groups"]] == ["Money", "People"]
        bad = console.call("stage:edit", {"stage_id": new["id"], "config": {"authors": "all"}})
        assert error_code(bad) == "invalid" and "config.authors" in bad["error"]["message"]
        assert error_code(console.call("stage:edit", {"stage_id": new["id"], "minutes": 0})) == (
            "invalid"
        )

        moved = console.call("stage:move", {"stage_id": new["id"], "position": 0})
        assert moved["stages"][0]["id"] == new["id"]
        assert [s["position"] for s in moved["stages"]] == list(range(len(moved["stages"])))
        copy = console.call("stage:duplicate", {"stage_id": new["id"]})["stages"][1]
        assert copy["title"] == "Risks we see (copy)" and copy["config"]["areas"] == [
            "Money",
            "People",
        ]
        assert console.call("stage:remove", {"stage_id": copy["id"]})["ok"]

        # What the room made stays: a stage holding notes, or the current one, is kept.
        assert console.call("stage:goto", {"stage_id": new["id"]})["ok"]
        assert phone.call("note:create", {"text": "Budget cuts", "x": 10, "y": 10})["ok"]
        kept = console.call("stage:goto", {"stage_id": first["id"]})
        assert kept["ok"]
        refused = console.call("stage:remove", {"stage_id": new["id"]})
        assert error_code(refused) == "conflict" and "(1 note)" in refused["error"]["message"]
        current = console.call("stage:remove", {"stage_id": first["id"]})
        assert error_code(current) == "conflict" and "current stage" in current["error"]["message"]

        for name, params in (
            ("stage:add", {"type": "board", "title": "x"}),
            ("stage:remove", {"stage_id": second["id"]}),
            ("workshop:schedule", {"starts_at": "09:00"}),
            ("workshop:start", {}),
        ):
            assert error_code(phone.call(name, params)) == "forbidden", name
        assert error_code(console.call("stage:add", {"type": "karaoke", "title": "x"})) == (
            "invalid"
        )
    finally:
        console.close()
        phone.close()


def test_the_schedule_gives_clock_times_and_fits_a_total(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    try:
        timed = console.call("workshop:schedule", {"starts_at": "08:30"})
        minutes = [s["minutes"] for s in timed["stages"]]
        assert timed["schedule"][0] == {
            "stage_id": timed["stages"][0]["id"],
            "start": "08:30",
            "end": f"08:{30 + minutes[0]:02d}" if minutes[0] < 30 else timed["schedule"][0]["end"],
        }
        assert timed["schedule"][1]["start"] == timed["schedule"][0]["end"]
        fitted = console.call("workshop:schedule", {"total_minutes": 240})
        assert fitted["total_minutes"] == 240
        assert sum(s["minutes"] for s in fitted["stages"]) == 240
        assert all(s["minutes"] >= 1 for s in fitted["stages"])
        longest = max(range(len(minutes)), key=minutes.__getitem__)
        assert fitted["stages"][longest]["minutes"] == max(s["minutes"] for s in fitted["stages"])
        assert error_code(console.call("workshop:schedule", {"starts_at": "25:00"})) == "invalid"
        assert error_code(console.call("workshop:schedule", {"total_minutes": 3})) == "invalid"
    finally:
        console.close()


def test_drafts_open_when_started_and_duplicates_and_archives(room):
    base, facilitator = room["base"], room["facilitator"]
    page = facilitator.get(f"{base}/console", timeout=10).text
    created = facilitator.post(
        f"{base}/workshops",
        data={
            "csrf_token": csrf_from(page),
            "kit": "hrh-action-framework",
            "title": "Draft one",
            "place": "Quetta",
            "draft": "1",
        },
        timeout=10,
    )
    assert created.status_code == 200 and "/console" in created.url
    workshop_id = int(created.url.rstrip("/").split("/")[-2])
    console = LiveClient(base, workshop_id, "console", facilitator).connect()
    try:
        info = console.snapshots[0]["workshop"]
        assert info["status"] == "draft"
        refused = requests.get(f"{base}/j/{info['code']}", timeout=10)
        assert refused.status_code == 409 and "has not started yet" in refused.text
        assert console.call("workshop:start", {})["ok"]
        assert error_code(console.call("workshop:start", {})) == "conflict"
        join(base, info["code"], "Bilal", "WHO", "Health")  # open now
        assert console.call("workshop:schedule", {"starts_at": "10:00"})["ok"]
    finally:
        console.close()

    listing = facilitator.get(f"{base}/console", timeout=10).text
    copied = facilitator.post(
        f"{base}/w/{workshop_id}/duplicate", data={"csrf_token": csrf_from(listing)}, timeout=10
    )
    copy_id = int(copied.url.rstrip("/").split("/")[-2])
    assert copy_id != workshop_id
    copy = LiveClient(base, copy_id, "console", facilitator).connect()
    try:
        snap = copy.snapshots[0]
        assert snap["workshop"]["status"] == "draft" and snap["workshop"]["code"] != info["code"]
        assert snap["workshop"]["title"] == "Draft one (copy)"
        assert snap["workshop"]["display"] == {"starts_at": "10:00"}
        assert [s["title"] for s in snap["stages"]] == [
            s["title"] for s in console.snapshots[0]["stages"]
        ]
        assert snap.get("participants") == []  # nobody the room brought
    finally:
        copy.close()

    early = facilitator.post(
        f"{base}/w/{workshop_id}/archive", data={"csrf_token": csrf_from(listing)}, timeout=10
    )
    assert early.status_code == 409 and "Close the workshop before archiving it" in early.text
    closer = LiveClient(base, workshop_id, "console", facilitator).connect()
    assert closer.call("workshop:close", {})["ok"]
    closer.close()
    archived = facilitator.post(
        f"{base}/w/{workshop_id}/archive", data={"csrf_token": csrf_from(listing)}, timeout=10
    )
    assert archived.status_code == 200
    assert 'data-group="archived"' in archived.text and 'data-group="drafts"' in archived.text
    other = requests.Session()
    assert other.post(f"{base}/w/{copy_id}/duplicate", timeout=10).status_code in (302, 400, 403)
