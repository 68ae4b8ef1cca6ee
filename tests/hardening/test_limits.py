"""Rate limits that hold under bursts and outages: logins, sign-up grants, addresses, a dead Redis."""

from __future__ import annotations

import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.limits.counters import MemoryCounters
from app.limits.errors import RateLimited
from app.limits.policy import Limits, address_key
from app.main import create_app
from tests import support

PASSWORD = "correct horse"
# The limits count in fixed windows that start on the clock (app/limits/counters.py): 15 minutes for login
# failures, an hour for sign-ups, a day for free-credit grants.
WINDOWS = (15 * 60, 60 * 60, 24 * 60 * 60)
TEST_SECONDS = 30  # the longest a test here takes to count through a window


@pytest.fixture(autouse=True)
def _one_window_per_test() -> None:
    """A test that counts to a limit must not straddle a window's end, where every count starts again:
    one that would (it starts in a window's last seconds) waits for the next window first."""
    left = min(window - time.time() % window for window in WINDOWS)
    if left < TEST_SECONDS:
        time.sleep(left + 0.5)


def _sign_up(app: TestClient, email: str) -> dict:
    response = app.post("/v1/accounts", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def _balance(app: TestClient, created: dict) -> int:
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    return int(app.get("/v1/account", headers=headers).json()["credits_balance"])


def test_a_burst_of_wrong_passwords_has_at_most_the_limit_checked(configure):
    configure(login_failures_per_15_minutes="10", rate_limit_per_ip="0")
    with TestClient(create_app(get_settings())) as app:
        _sign_up(app, "burst@example.com")

        def guess(i: int) -> int:
            body = {"email": "burst@example.com", "password": f"wrong guess {i}"}
            return app.post("/v1/sessions", json=body).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = Counter(pool.map(guess, range(40)))
        assert statuses[401] <= 10, statuses  # checked (and wrong)
        assert statuses[401] + statuses[429] == 40, statuses
        # The right password is throttled too now, from this address: the limit is on it and the email.
        right = app.post("/v1/sessions", json={"email": "burst@example.com", "password": PASSWORD})
        assert right.status_code == 429 and right.json()["error"]["code"] == "login_throttled"


def test_successful_logins_do_not_use_up_the_failure_limit(configure):
    configure(login_failures_per_15_minutes="2")
    with TestClient(create_app(get_settings())) as app:
        _sign_up(app, "often@example.com")
        for _ in range(5):
            ok = app.post("/v1/sessions", json={"email": "often@example.com", "password": PASSWORD})
            assert ok.status_code == 200, ok.text


def test_a_failed_sign_up_does_not_use_up_a_free_credit_grant(configure):
    configure(signup_credit_grants_per_ip_per_day="2")
    with TestClient(create_app(get_settings())) as app:
        first = _sign_up(app, "g1@example.com")
        again = app.post("/v1/accounts", json={"email": "g1@example.com", "password": PASSWORD})
        assert again.status_code == 409
        second = _sign_up(app, "g2@example.com")
        third = _sign_up(app, "g3@example.com")
        assert [_balance(app, c) for c in (first, second, third)] == [10, 10, 0]


def _closed_port() -> int:
    return support.free_port()  # nothing listens there: connections are refused


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """An address that accepts TCP connections and never answers: a Redis stopped with SIGSTOP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def test_with_the_limiter_store_down_free_credits_and_logins_stay_limited(configure):
    configure(
        rate_limit_url=f"redis://127.0.0.1:{_closed_port()}/0",
        signup_credit_grants_per_ip_per_day="2",
        login_failures_per_15_minutes="3",
    )
    with TestClient(create_app(get_settings())) as app:
        created = [_sign_up(app, f"farm{i}@example.com") for i in range(5)]
        assert [_balance(app, c) for c in created] == [10, 10, 0, 0, 0]
        wrong = {"email": "farm0@example.com", "password": "wrong password"}
        statuses = [app.post("/v1/sessions", json=wrong).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]


def _seconds_for_ten_requests() -> float:
    with TestClient(create_app(get_settings())) as app:
        started = time.monotonic()
        for _ in range(10):
            assert app.get("/v1/models").status_code == 200
        return time.monotonic() - started


def test_a_hung_limiter_store_does_not_slow_every_request(configure, hung_redis):
    configure()
    baseline = _seconds_for_ten_requests()  # the same requests counted in memory, on this machine now
    configure(rate_limit_url=hung_redis)
    elapsed = _seconds_for_ten_requests()
    print(f"10 requests: {elapsed:.2f} s with the store hung, {baseline:.2f} s counted in memory")
    # Before the breaker each request waited 2 s on the dead store (20 s in all); now the first waits its
    # short timeout (0.5 s) and the rest count in memory. The rest of the bound is room for a loaded machine.
    assert elapsed < baseline + 5.0, (elapsed, baseline)


def test_ipv6_addresses_are_limited_per_64_network():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("192.0.2.7") != address_key("192.0.2.8")
    limits = Limits(get_settings().model_copy(update={"rate_limit_per_ip": 2}), MemoryCounters())
    limits.per_ip("2001:db8:1:2::1")
    limits.per_ip("2001:db8:1:2::2")
    with pytest.raises(RateLimited):
        limits.per_ip("2001:db8:1:2:dead:beef:0:1")
    limits.per_ip("2001:db8:1:3::1")  # another network


def test_several_api_processes_refuse_to_start_without_shared_counters(tmp_path):
    env = support.service_env(data_dir=str(tmp_path / "var"))
    result = subprocess.run(
        support.mindrender("api", "--workers", "2", "--port", str(support.free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MR_RATE_LIMIT_URL" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "separate"), [("127.0.0.1", True), ("10.9.9.9", False)])
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(tmp_path, models_dir, trusted, separate):
    port = support.free_port()
    env = support.service_env(
        data_dir=str(tmp_path / "var"), models_dir=str(models_dir), rate_limit_per_ip="2",
        forwarded_allow_ips=trusted,
    )  # fmt: skip
    process = support.start_process(support.mindrender("api", "--port", str(port)), env, tmp_path / "api.log")
    try:
        support.wait_http(f"http://127.0.0.1:{port}/healthz", process=process, log=tmp_path / "api.log")
        statuses = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for i in range(4):
                forwarded = {"X-Forwarded-For": f"198.51.100.{i}"}
                statuses.append(http.get("/v1/models", headers=forwarded).status_code)
        # Behind a trusted proxy each client has its own count; otherwise they all share the proxy's.
        assert statuses == ([200] * 4 if separate else [200, 200, 429, 429]), statuses
    finally:
        support.stop_process(process)


@pytest.fixture(params=["memory", "redis"])
def login_counters(request, configure):
    """Login throttling counted in the process (the embedded default) or in Redis shared by replicas."""
    url = "" if request.param == "memory" else request.getfixturevalue("redis_url")
    return configure(login_failures_per_15_minutes="3", **({"rate_limit_url": url} if url else {}))


def test_one_address_guessing_cannot_lock_the_user_out_but_many_addresses_stay_bounded(login_counters):
    """Behind a proxy the service does not trust, or from any one address, 50 wrong passwords locked the
    real user out for 15 minutes: the limit was on the email alone."""
    with TestClient(create_app(login_counters)) as app:
        _sign_up(app, "victim@example.com")

        def from_address(address: str) -> TestClient:
            return TestClient(app.app, client=(address, 50000))  # the same process, another client address

        def log_in(client: TestClient, password: str) -> int:
            body = {"email": "victim@example.com", "password": password}
            return client.post("/v1/sessions", json=body).status_code

        attacker = from_address("203.0.113.66")
        statuses = [log_in(attacker, f"wrong guess {i}") for i in range(50)]
        assert statuses == [401] * 3 + [429] * 47  # 3 for this address and this account
        assert log_in(attacker, PASSWORD) == 429  # that address stays locked out of this account
        assert log_in(from_address("198.51.100.7"), PASSWORD) == 200  # the user, from their own address

        # Many addresses together meet the account's own ceiling (10x): 30 guesses in 15 minutes, then
        # every address is refused, the user's too (the bound a distributed attack gets).
        checked = 3  # the first attacker's
        for i in range(1, 20):
            checked += [log_in(from_address(f"192.0.2.{i}"), "wrong guess") for _ in range(3)].count(401)
        assert checked == 30
        assert log_in(from_address("192.0.2.200"), "wrong guess") == 429
        assert log_in(from_address("198.51.100.7"), PASSWORD) == 429
