"""The log-in throttle's rules, without a server (the server tests drive it for real)."""

from __future__ import annotations

import pytest

from kenning.server.security import LoginThrottle, Throttled


def fail(throttle: LoginThrottle, name: str, address: str, trusted: bool = False) -> bool:
    """One failed log-in; False when it was refused before being tried."""
    try:
        throttle.begin(name, address, trusted)
    except Throttled:
        return False
    return True


def test_one_address_is_stopped_long_before_the_name_is_at_risk():
    throttle = LoginThrottle()
    tried = [fail(throttle, "alice", "10.0.0.1") for _ in range(10)]
    assert tried == [True] * 5 + [False] * 5
    throttle.begin("alice", "10.0.0.2", False)  # another address: alice is not locked


def test_many_addresses_lock_the_name_for_strangers_only():
    throttle = LoginThrottle()
    for n in range(11):
        for _ in range(5):
            fail(throttle, "Alice", f"10.0.1.{n}")
    with pytest.raises(Throttled):
        throttle.begin("alice", "10.0.2.1", False)
    throttle.begin("alice", "10.0.2.1", True)  # her browser (a device cookie)
    attempt = throttle.begin("alice", "10.0.2.2", True)
    throttle.succeeded(attempt, "alice", "10.0.2.2")
    throttle.begin("alice", "10.0.2.2", False)  # an address she signed in from


def test_forgetting_old_entries_keeps_what_still_counts():
    throttle = LoginThrottle()
    for _ in range(5):
        fail(throttle, "bob", "10.0.0.9")
    for n in range(20_000):  # many other keys, all recent
        fail(throttle, f"someone{n}", f"10.{n // 250}.{n % 250}.1")
    assert not fail(throttle, "bob", "10.0.0.9")


def test_a_success_does_not_count_as_a_failure():
    throttle = LoginThrottle()
    for _ in range(20):
        attempt = throttle.begin("carol", "10.0.0.5", False)
        throttle.succeeded(attempt, "carol", "10.0.0.5")
    assert fail(throttle, "carol", "10.0.0.5")
