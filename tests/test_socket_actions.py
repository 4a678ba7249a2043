"""Every socket action, allowed and forbidden, against the real server."""

from __future__ import annotations

import pytest
import socketio

from .support import LiveClient, action_id, error_code, join


@pytest.fixture
def screens(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phone_http = join(base, workshop.code, "Amina", "Ministry of Health", "Health")
    phone = LiveClient(base, workshop.id, "phone", phone_http).connect()
    yield {
        **room,
        "console": console,
        "projector": projector,
        "phone": phone,
        "phone_http": phone_http,
    }
    for client in (console, projector, phone):
        client.close()


def stage_ids(client):
    return [s["id"] for s in client.snapshots[0]["stages"]]


# -- sync:request ---------------------------------------------------------------


def test_sync_request_gives_every_screen_a_snapshot_for_its_role(screens):
    joined_seq = screens["phone"].snapshots[0]["seq"]
    for name in ("console", "projector", "phone"):
        ack = screens[name].call("sync:request", {}, with_id=False)
        assert ack["ok"], ack
        assert ack["snapshot"]["seq"] == joined_seq
    assert "participants" in screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    projector_state = screens["projector"].call("sync:request", {}, with_id=False)["snapshot"]
    assert "participants" not in projector_state
    assert projector_state["presence"]["total"] == 1
    assert (
        screens["phone"].call("sync:request", {}, with_id=False)["snapshot"]["me"]["name"]
        == "Amina"
    )


def test_sync_request_since_returns_only_missed_events(screens):
    start = screens["phone"].snapshots[0]["seq"]
    screens["console"].call("stage:next", {})
    screens["console"].call("stage:next", {})
    ack = screens["phone"].call("sync:request", {"since": start}, with_id=False)
    assert [e["seq"] for e in ack["events"]] == [start + 1, start + 2]
    assert all(e["type"] == "stage:changed" for e in ack["events"])


def test_sync_request_rejects_bad_since(screens):
    ack = screens["phone"].call("sync:request", {"since": -1}, with_id=False)
    assert error_code(ack) == "invalid"
    assert "since" in ack["error"]["message"]


def test_unauthenticated_socket_cannot_connect(live_server, factory):
    workshop = factory.workshop()
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(
            live_server,
            auth={"workshop_id": workshop.id, "screen": "phone"},
            transports=["websocket"],
            wait_timeout=5,
        )


# -- stage:goto / stage:next / stage:prev ------------------------------------------


def test_facilitator_moves_to_any_stage_and_every_screen_follows(screens):
    target = stage_ids(screens["console"])[3]
    ack = screens["console"].call("stage:goto", {"stage_id": target})
    assert ack == {"ok": True, "stage_id": target, "seq": ack["seq"]}
    for name in ("console", "projector", "phone"):
        event = screens[name].event_of("stage:changed")
        assert event["data"]["stage_id"] == target
        assert event["seq"] == ack["seq"]


def test_stage_goto_forbidden_for_participant_and_projector(screens):
    target = stage_ids(screens["console"])[2]
    assert error_code(screens["phone"].call("stage:goto", {"stage_id": target})) == "forbidden"
    assert error_code(screens["projector"].call("stage:goto", {"stage_id": target})) == "forbidden"
    state = screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["current_stage_id"] == stage_ids(screens["console"])[0]


def test_stage_goto_unknown_stage_is_refused(screens, factory):
    other = factory.workshop()
    ack = screens["console"].call("stage:goto", {"stage_id": other.stages[1].id})
    assert error_code(ack) == "not_found"


def test_next_and_prev_step_and_stop_at_the_ends(screens):
    ids = stage_ids(screens["console"])
    assert error_code(screens["console"].call("stage:prev", {})) == "conflict"
    assert screens["console"].call("stage:next", {})["stage_id"] == ids[1]
    assert screens["console"].call("stage:prev", {})["stage_id"] == ids[0]
    assert screens["console"].call("stage:goto", {"stage_id": ids[-1]})["ok"]
    ack = screens["console"].call("stage:next", {})
    assert error_code(ack) == "conflict"
    assert "last stage" in ack["error"]["message"]


def test_next_from_a_stale_stage_is_refused(screens):
    ids = stage_ids(screens["console"])
    screens["console"].call("stage:next", {})
    ack = screens["console"].call("stage:next", {"from_stage_id": ids[0]})
    assert error_code(ack) == "conflict"
    assert ack["error"]["details"]["current_stage_id"] == ids[1]


def test_next_and_prev_forbidden_for_participant_and_projector(screens):
    for name in ("phone", "projector"):
        assert error_code(screens[name].call("stage:next", {})) == "forbidden"
        assert error_code(screens[name].call("stage:prev", {})) == "forbidden"


# -- participant:update -----------------------------------------------------------


def test_participant_updates_own_details_in_the_welcome_stage(screens):
    ack = screens["phone"].call("participant:update", {"organisation": "MoH Punjab"})
    assert ack["ok"] and ack["participant"]["organisation"] == "MoH Punjab"
    event = screens["console"].event_of("participant:updated")
    assert event["data"]["participant"]["organisation"] == "MoH Punjab"


def test_participant_update_refused_outside_its_stage(screens):
    screens["console"].call("stage:next", {})
    ack = screens["phone"].call("participant:update", {"name": "Someone else"})
    assert error_code(ack) == "wrong_stage"


def test_participant_update_forbidden_for_facilitator_and_projector(screens):
    for name in ("console", "projector"):
        assert error_code(screens[name].call("participant:update", {"name": "X"})) == "forbidden"


def test_participant_update_limits_are_named(screens):
    ack = screens["phone"].call("participant:update", {"name": "x" * 61})
    assert error_code(ack) == "invalid"
    assert "at most 60 characters" in ack["error"]["message"]
    assert error_code(screens["phone"].call("participant:update", {})) == "invalid"
    assert error_code(screens["phone"].call("participant:update", {"name": "   "})) == "invalid"


# -- participant:join (HTTP only) ----------------------------------------------------


def test_participant_join_is_not_a_socket_action_for_screens(screens):
    payload = {"name": "Eve", "organisation": "X", "sector": "Health"}
    for name in ("console", "projector", "phone"):
        assert error_code(screens[name].call("participant:join", payload)) == "forbidden"


# -- participant:remove -------------------------------------------------------------


def test_facilitator_removes_a_participant_who_is_disconnected_and_locked_out(screens):
    pid = screens["phone"].snapshots[0]["me"]["id"]
    ack = screens["console"].call("participant:remove", {"participant_id": pid})
    assert ack["ok"]
    event = screens["projector"].event_of("participant:removed")
    assert event["data"]["presence"]["total"] == 0
    screens["phone"].wait_for(lambda: not screens["phone"].sio.connected, "the phone disconnected")
    again = LiveClient(screens["base"], screens["workshop"].id, "phone", screens["phone_http"])
    again.sio.reconnection = False
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect()
    page = screens["phone_http"].get(f"{screens['base']}/j/{screens['workshop'].code}")
    assert page.status_code == 403 and "removed you" in page.text


def test_participant_remove_forbidden_for_participant_and_projector(screens):
    pid = screens["phone"].snapshots[0]["me"]["id"]
    for name in ("phone", "projector"):
        ack = screens[name].call("participant:remove", {"participant_id": pid})
        assert error_code(ack) == "forbidden"
    state = screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert [p["id"] for p in state["participants"]] == [pid]


def test_removing_someone_of_another_workshop_is_refused(screens, factory, live_server):
    other = factory.workshop()
    stranger = join(live_server, other.code, "Zed", "Elsewhere", "Health")
    stranger_client = LiveClient(live_server, other.id, "phone", stranger).connect()
    try:
        pid = stranger_client.snapshots[0]["me"]["id"]
        ack = screens["console"].call("participant:remove", {"participant_id": pid})
        assert error_code(ack) == "not_found"
    finally:
        stranger_client.close()


# -- workshop:close / workshop:reopen ----------------------------------------------------


def test_facilitator_closes_and_reopens_the_workshop(screens):
    ack = screens["console"].call("workshop:close", {})
    assert ack["ok"] and ack["status"] == "closed"
    assert screens["phone"].event_of("workshop:closed")["data"]["status"] == "closed"
    page = screens["phone_http"].get(f"{screens['base']}/j/{screens['workshop'].code}")
    assert page.status_code == 404 and "has ended" in page.text
    assert error_code(screens["phone"].call("participant:update", {"name": "Late"})) == "closed"
    ack = screens["console"].call("workshop:reopen", {})
    assert ack["ok"] and ack["status"] == "live"
    assert screens["projector"].event_of("workshop:reopened")["data"]["code"] == ack["code"]


def test_close_and_reopen_forbidden_for_participant_and_projector(screens):
    for name in ("phone", "projector"):
        assert error_code(screens[name].call("workshop:close", {})) == "forbidden"
        assert error_code(screens[name].call("workshop:reopen", {})) == "forbidden"
    state = screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["workshop"]["status"] == "live"


# -- the envelope ---------------------------------------------------------------------------


def test_a_repeated_action_id_has_no_second_effect_and_the_same_answer(screens):
    payload = {"action_id": action_id()}
    first = screens["console"].call("stage:next", payload)
    second = screens["console"].call("stage:next", payload)
    assert first == second
    state = screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["current_stage_id"] == stage_ids(screens["console"])[1]
    assert state["seq"] == first["seq"]


def test_the_same_action_id_from_another_caller_is_its_own_action(screens):
    shared = action_id()
    screens["console"].call("stage:next", {"action_id": shared})
    screens["console"].call("stage:prev", {})
    ack = screens["phone"].call("participant:update", {"action_id": shared, "name": "Amina B."})
    assert ack["ok"] and ack["participant"]["name"] == "Amina B."


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("no:such-event", {}, "unknown_event"),
        ("stage:next", ["not", "an", "object"], "bad_request"),
        ("stage:next", "text", "bad_request"),
        ("stage:next", {"action_id": "short"}, "bad_request"),
        ("stage:goto", {"action_id": action_id(), "stage_id": "three"}, "invalid"),
        ("stage:goto", {"action_id": action_id()}, "invalid"),
        ("stage:next", {"action_id": action_id(), "surprise": 1}, "invalid"),
    ],
)
def test_malformed_events_get_an_error_ack_and_the_server_keeps_serving(
    screens, event, payload, code
):
    ack = screens["console"].call(event, payload, with_id=False)
    assert error_code(ack) == code
    assert ack["error"]["message"]
    assert screens["phone"].call("sync:request", {}, with_id=False)["ok"]


def test_two_payload_arguments_are_refused(screens):
    ack = screens["console"].sio.call("stage:next", ({"action_id": action_id()}, 2), timeout=5)
    assert error_code(ack) == "bad_request"


# -- another workshop's data -------------------------------------------------------------------


def test_a_facilitator_cannot_open_another_facilitators_console(room, factory):
    other = factory.workshop()
    client = LiveClient(room["base"], other.id, "console", room["facilitator"])
    client.sio.reconnection = False
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()
    assert client.connect_errors[0]["data"]["code"] == "forbidden"


def test_a_participant_cannot_open_another_workshops_phone_screen(screens, factory):
    other = factory.workshop()
    client = LiveClient(screens["base"], other.id, "phone", screens["phone_http"])
    client.sio.reconnection = False
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()
    assert client.connect_errors[0]["data"]["code"] == "unauthenticated"


def test_a_wrong_projector_key_is_refused(room):
    client = LiveClient(room["base"], room["workshop"].id, "projector", key="wrong-key")
    client.sio.reconnection = False
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()
    assert client.connect_errors[0]["data"]["code"] == "forbidden"


def test_reusing_an_action_id_for_another_action_is_refused(screens):
    shared = action_id()
    assert screens["console"].call("stage:next", {"action_id": shared})["ok"]
    ack = screens["console"].call("workshop:close", {"action_id": shared})
    assert error_code(ack) == "conflict"
    assert "already used" in ack["error"]["message"]
    state = screens["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["workshop"]["status"] == "live"


def test_numbers_must_be_numbers(screens):
    ids = stage_ids(screens["console"])
    for bad in (str(ids[1]), float(ids[1]), True):
        ack = screens["console"].call("stage:goto", {"stage_id": bad})
        assert error_code(ack) == "invalid"


def test_a_forbidden_role_is_told_so_before_its_payload_is_checked(screens):
    assert error_code(screens["phone"].call("stage:goto", {"nonsense": 1})) == "forbidden"


def test_only_the_facilitator_sees_who_joined_every_screen_the_organisations(
    screens, live_server
):
    join(live_server, screens["workshop"].code, "Bilal", "UNICEF", "Development partners")

    def second_join(client):
        return client.wait_for(
            lambda: next(
                (
                    e["data"]
                    for e in client.events
                    if e["type"] == "participant:joined" and e["data"]["presence"]["total"] == 2
                ),
                None,
            ),
            "the second join",
        )

    full = second_join(screens["console"])["participant"]
    assert full["name"] == "Bilal" and full["organisation"] == "UNICEF"
    for name in ("projector", "phone"):
        seen = second_join(screens[name])
        assert seen["participant"] == {"id": full["id"], "sector": "Development partners"}
        assert seen["presence"]["total"] == 2
        # Organisations are who signs: every screen's sign-off list follows them live.
        assert seen["presence"]["organisation_names"] == ["Ministry of Health", "UNICEF"]
    start = screens["phone"].snapshots[0]["seq"]
    replay = screens["projector"].call("sync:request", {"since": start}, with_id=False)
    assert "Bilal" not in str(replay["events"])
    assert "Bilal" in str(
        screens["console"].call("sync:request", {"since": start}, with_id=False)["events"]
    )
