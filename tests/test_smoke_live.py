from tests.support import LiveClient, join


def test_stage_change_reaches_everyone(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    phone_http = join(base, workshop.code, "Amina", "Ministry of Health", "Health")
    phone = LiveClient(base, workshop.id, "phone", phone_http).connect()
    try:
        assert phone.snapshots[0]["me"]["name"] == "Amina"
        ack = console.call("stage:next", {})
        assert ack["ok"] is True
        event = phone.event_of("stage:changed")
        assert event["seq"] == ack["seq"]
        assert event["data"]["stage_id"] == ack["stage_id"]
    finally:
        phone.close()
        console.close()
