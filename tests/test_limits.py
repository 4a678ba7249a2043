"""Rate limits against the real eventlet server, with limits set low through the
environment: socket events per connection and per participant (the flooder is refused,
then disconnected, while another phone's actions still go through), wrong join codes
and failed log-ins per address and per account, and X-Forwarded-For believed only
from a trusted proxy."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
import requests
import socketio

from facilitator.core import config

from .server_process import ServerProcess
from .support import ACTION_RE, LiveClient, action_id, cookie_header, csrf_from, login

pytestmark = pytest.mark.server

#: Low limits, so a test reaches them in a second; the defaults are far higher.
LIMITS = {
    "FACILITATOR_TRUSTED_PROXIES": "1",
    "FACILITATOR_EVENT_RATE": "5",
    "FACILITATOR_EVENT_BURST": "10",
    "FACILITATOR_PARTICIPANT_EVENT_RATE": "6",
    "FACILITATOR_PARTICIPANT_EVENT_BURST": "12",
    # About 10 s of refusals: 300, less 30 a second.
    "FACILITATOR_EVENT_DISCONNECT_AFTER": "300",
    "FACILITATOR_JOIN_FAILURES_PER_ADDRESS": "5",
    "FACILITATOR_JOIN_WINDOW": "120",
    "FACILITATOR_LOGIN_FAILURES_PER_ADDRESS": "4",
    "FACILITATOR_LOGIN_FAILURES_PER_ACCOUNT": "6",
    "FACILITATOR_LOGIN_WINDOW": "120",
}
PASSWORD = "limits password 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = ServerProcess(tmp_path_factory.mktemp("limits"), env=LIMITS).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def workshop(server: ServerProcess) -> dict[str, Any]:
    http, workshop_id, code = server.create_workshop("limits", PASSWORD)
    return {"http": http, "id": workshop_id, "code": code}


def join_from(base: str, code: str, name: str, address: str | None = None) -> requests.Session:
    """Join through the form, from ``address`` as a trusted proxy would say."""
    http = requests.Session()
    if address:
        http.headers["X-Forwarded-For"] = address
    page = http.get(f"{base}/j/{code}", timeout=10)
    assert page.status_code == 200, page.text
    resp = http.post(
        f"{base}/j/{code}",
        data={
            "csrf_token": csrf_from(page.text),
            "action_id": ACTION_RE.search(page.text).group(1),
            "name": name,
            "organisation": "Ministry of Health",
            "sector": "Health",
        },
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text
    return http


def goto(console: LiveClient, kind: str) -> None:
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == kind)
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]


def note(text: str) -> dict[str, Any]:
    return {"action_id": action_id(), "text": text, "colour": "yellow", "x": 10.0, "y": 10.0}


# -- socket events --------------------------------------------------------------------------


def test_a_flooding_phone_is_refused_then_disconnected_while_another_phone_carries_on(
    server: ServerProcess, workshop: dict[str, Any]
) -> None:
    base = server.base
    console = LiveClient(base, workshop["id"], "console", workshop["http"]).connect()
    calm = LiveClient(
        base, workshop["id"], "phone", join_from(base, workshop["code"], "Calm")
    ).connect()
    flooder_http = join_from(base, workshop["code"], "Flooder")
    goto(console, "board")

    flooder = socketio.Client(reconnection=False)
    disconnected = threading.Event()
    cut_at: list[float] = []
    flooder.on("disconnect", lambda *_: (cut_at.append(time.monotonic()), disconnected.set()))
    flooder.connect(
        base,
        headers={"Cookie": cookie_header(flooder_http)},
        auth={"workshop_id": workshop["id"], "screen": "phone"},
        transports=["websocket"],
        wait_timeout=10,
    )
    acks: list[dict[str, Any]] = []

    # The calm phone adds a note every 250 ms (4 a second, under the limit of 5)
    # all through the flood, and times each answer.
    calm_results: list[tuple[bool, float]] = []
    calm_done: list[float] = []
    stop = threading.Event()

    def calm_phone() -> None:
        for i in range(12):
            started = time.monotonic()
            ack = calm.call("note:create", note(f"calm note {i}"))
            calm_results.append((bool(ack.get("ok")), time.monotonic() - started))
            calm_done.append(time.monotonic())
            if stop.wait(0.25):
                return

    worker = threading.Thread(target=calm_phone)
    worker.start()
    started = time.monotonic()
    sent = 0
    try:
        # 100 events a second: refused faster than the strikes decay, so after a few
        # seconds of it the server hangs up.
        for i in range(2000):
            if disconnected.is_set():
                break
            try:
                flooder.emit("note:create", note(f"flood {i}"), callback=acks.append)
            except socketio.exceptions.SocketIOError:
                break  # the server hung up
            sent += 1
            time.sleep(0.01)
        assert disconnected.wait(10), "the flooding phone was never disconnected"
        flood_seconds = time.monotonic() - started
        worker.join(15)
    finally:
        stop.set()
        flooder.disconnect()

    accepted = [a for a in acks if a.get("ok")]
    refused = [a for a in acks if not a.get("ok")]
    slowest = max(seconds for _, seconds in calm_results)
    print(
        f"flood: {sent} sent in {flood_seconds:.2f}s, {len(accepted)} accepted, "
        f"{len(refused)} refused, then disconnected; the calm phone: "
        f"{sum(ok for ok, _ in calm_results)}/{len(calm_results)} ok, "
        f"slowest {slowest * 1000:.0f} ms"
    )
    assert {a["error"]["code"] for a in refused} == {"rate_limited"}
    message = refused[0]["error"]["message"]
    assert "at most 5 a second" in message and "10 at once" in message, message
    # The bucket: 10 at once, then 5 a second (and at most 12 + 6 a second for the person).
    assert 10 <= len(accepted) <= 10 + 5 * flood_seconds + 1, (len(accepted), flood_seconds)
    assert len(refused) > 300, "disconnected before sustained abuse"
    assert sent < 2000, "the flood was not cut short"

    # The other phone was served throughout the flood, at once.
    assert all(done < cut_at[0] for done in calm_done), "the calm phone outlasted the flood"
    assert len(calm_results) == 12 and all(ok for ok, _ in calm_results), calm_results
    assert slowest < 1.0, calm_results
    # Nothing refused was written: the board holds exactly the accepted notes.
    board = next(
        b
        for b in console.call("sync:request", {}, with_id=False)["snapshot"]["boards"].values()
        if b["notes"]
    )
    texts = [n["text"] for n in board["notes"]]
    assert sum(t.startswith("flood") for t in texts) == len(accepted)
    assert sum(t.startswith("calm") for t in texts) == 12
    for client in (console, calm):
        client.close()


def test_two_phones_of_one_participant_share_one_bucket(
    server: ServerProcess, workshop: dict[str, Any]
) -> None:
    base = server.base
    http = join_from(base, workshop["code"], "Two Phones")
    phones = [LiveClient(base, workshop["id"], "phone", http).connect() for _ in range(2)]
    other = LiveClient(
        base, workshop["id"], "phone", join_from(base, workshop["code"], "Someone Else")
    ).connect()
    answers: list[dict[str, Any]] = []
    lock = threading.Lock()

    def burst(phone: LiveClient) -> None:
        for _ in range(10):  # within one connection's burst of 10
            ack = phone.call("sync:request", {"since": 0}, with_id=False)
            with lock:
                answers.append(ack)

    started = time.monotonic()
    threads = [threading.Thread(target=burst, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    elapsed = time.monotonic() - started
    accepted = sum(1 for a in answers if a.get("ok"))
    refused = [a for a in answers if not a.get("ok")]
    # Each phone alone was within its own limit; together they were not.
    assert len(answers) == 20
    assert accepted <= 12 + 6 * elapsed + 1, (accepted, elapsed)
    assert refused and {a["error"]["code"] for a in refused} == {"rate_limited"}
    assert "all your devices together" in refused[0]["error"]["message"]
    # Someone else is not affected, and the bucket refills.
    assert other.call("sync:request", {"since": 0}, with_id=False)["ok"]
    time.sleep(1)
    assert phones[0].call("sync:request", {"since": 0}, with_id=False)["ok"]
    for client in (*phones, other):
        client.close()


def test_the_facilitator_console_is_not_rate_limited(
    server: ServerProcess, workshop: dict[str, Any]
) -> None:
    console = LiveClient(server.base, workshop["id"], "console", workshop["http"]).connect()
    answers = [console.call("sync:request", {"since": 0}, with_id=False) for _ in range(40)]
    assert all(a["ok"] for a in answers)
    console.close()


def test_limits_come_from_the_environment_with_sane_defaults(monkeypatch, tmp_path) -> None:
    for name in LIMITS:
        monkeypatch.delenv(name, raising=False)
    defaults = config.from_env(tmp_path)
    assert defaults["TRUSTED_PROXIES"] == 0
    # A person dragging a note sends 20 events a second; nobody types faster than that.
    # The benchmark's pinging phone (bench/pdf.py) sends one every 15 ms.
    assert defaults["EVENT_RATE"] >= 1000 / 15 and defaults["EVENT_BURST"] >= 100
    assert defaults["PARTICIPANT_EVENT_RATE"] >= defaults["EVENT_RATE"]
    assert defaults["JOIN_FAILURES_PER_ADDRESS"] >= 20
    monkeypatch.setenv("FACILITATOR_EVENT_RATE", "2.5")
    assert config.from_env(tmp_path)["EVENT_RATE"] == 2.5
    for name, value in (
        ("FACILITATOR_EVENT_RATE", "fast"),
        ("FACILITATOR_EVENT_RATE", "-1"),
        ("FACILITATOR_TRUSTED_PROXIES", "1.5"),
        ("FACILITATOR_JOIN_FAILURES_PER_ADDRESS", "0"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit, match=name):
            config.from_env(tmp_path)
        monkeypatch.delenv(name)


# -- join codes -------------------------------------------------------------------------------


def test_wrong_join_codes_from_one_address_end_in_429_without_telling_right_from_wrong(
    server: ServerProcess, workshop: dict[str, Any]
) -> None:
    base, code = server.base, workshop["code"]
    address = "203.0.113.7"
    joined = join_from(base, code, "Joined Earlier", address)
    guesser = requests.Session()
    guesser.headers["X-Forwarded-For"] = address
    wrong = ["AAAAAA", "CCCCCC", "EEEEEE"]
    for guess in wrong:
        assert guesser.get(f"{base}/j/{guess}", timeout=10).status_code == 404
    for guess in ("FFFFFF", "GGGGGG"):
        assert guesser.get(f"{base}/join", params={"code": guess}, timeout=10).status_code == 404
    # Five wrong codes: now every code is refused from this address, the right one too.
    for url in (f"{base}/j/HHHHHH", f"{base}/j/{code}", f"{base}/join?code={code}"):
        blocked = guesser.get(url, timeout=10, allow_redirects=False)
        assert blocked.status_code == 429, (url, blocked.status_code)
        assert "Too many wrong join codes" in blocked.text
        assert 0 < int(blocked.headers["Retry-After"]) <= 120
    assert guesser.post(f"{base}/j/{code}", timeout=10).status_code in (400, 429)
    # A phone that joined from there before keeps its screen (its cookie proves it).
    page = joined.get(f"{base}/j/{code}", timeout=10)
    assert page.status_code == 200 and 'id="phone"' in page.text
    # Other addresses are not affected.
    join_from(base, code, "Next Door", "203.0.113.8")


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(tmp_path) -> None:
    server = ServerProcess(tmp_path, env={"FACILITATOR_JOIN_FAILURES_PER_ADDRESS": "3"}).start()
    try:
        for i in range(3):
            # A client claiming another address each time is still one address.
            headers = {"X-Forwarded-For": f"198.51.100.{i}"}
            assert (
                requests.get(f"{server.base}/j/AAAAAA", headers=headers, timeout=10).status_code
                == 404
            )
        headers = {"X-Forwarded-For": "198.51.100.99"}
        assert (
            requests.get(f"{server.base}/j/AAAAAA", headers=headers, timeout=10).status_code == 429
        )
        # Nor is X-Forwarded-Proto: the cookie is not marked Secure, no HSTS.
        page = requests.get(
            f"{server.base}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10
        )
        assert "Secure" not in page.headers["Set-Cookie"]
        assert "Strict-Transport-Security" not in page.headers
    finally:
        server.stop()


# -- log-ins ----------------------------------------------------------------------------------


def attempt_login(base: str, username: str, password: str, address: str) -> requests.Response:
    http = requests.Session()
    http.headers["X-Forwarded-For"] = address
    page = http.get(f"{base}/login", timeout=10)
    return http.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        timeout=10,
        allow_redirects=False,
    )


def test_failed_logins_are_limited_per_address_and_per_account(server: ServerProcess) -> None:
    base = server.base
    for name in ("target", "bystander"):
        made = server.cli("users", "create", name, "--password", "-", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
    for _ in range(4):
        assert attempt_login(base, "target", "guess", "192.0.2.1").status_code == 401
    # Four failures from this address: even the right password waits now.
    blocked = attempt_login(base, "target", PASSWORD, "192.0.2.1")
    assert blocked.status_code == 429 and "Too many failed log-ins" in blocked.text
    assert int(blocked.headers["Retry-After"]) > 0
    assert attempt_login(base, "bystander", PASSWORD, "192.0.2.1").status_code == 429
    # Another address logs in to the same account (4 of its 6 failures used).
    assert attempt_login(base, "target", PASSWORD, "192.0.2.2").status_code == 302
    # Failures spread over addresses still count against the account.
    assert attempt_login(base, "target", "guess", "192.0.2.3").status_code == 401
    assert attempt_login(base, "target", "guess", "192.0.2.4").status_code == 401
    assert attempt_login(base, "target", PASSWORD, "192.0.2.5").status_code == 429
    assert re.search(
        "Wait (about )?[0-9]+ (seconds|minutes)",
        attempt_login(base, "TARGET", PASSWORD, "192.0.2.6").text,
    )
    # Other accounts are not affected.
    assert attempt_login(base, "bystander", PASSWORD, "192.0.2.5").status_code == 302


def test_a_trusted_proxy_says_whether_the_request_came_over_tls(server: ServerProcess) -> None:
    page = requests.get(f"{server.base}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = requests.get(f"{server.base}/login", timeout=10)
    assert "Secure" not in plain.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in plain.headers
    # The session still works over the plain test connection after logging in.
    login(server.base, "limits", PASSWORD)
