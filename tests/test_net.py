"""The shared network helpers: the host parser's default port and the reconnect policy."""

import pytest

from custom_components.switchboard.net import Backoff, parse_host


def test_parse_host_default_and_explicit_port() -> None:
    """Every family parses ``host[:port]`` here; the caller's default applies without one."""
    assert parse_host("indi.local", 7624) == ("indi.local", 7624)
    assert parse_host("indi.local:7625", 7624) == ("indi.local", 7625)
    assert parse_host("[::1]:8883", 443) == ("::1", 8883)
    with pytest.raises(ValueError):
        parse_host("bad host", 7624)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    """Attempt n waits base * 2**n (at most cap), scaled by a random factor in [1 - jitter, 1]."""
    policy = Backoff(base=1.0, cap=60.0, jitter=0.5)
    for attempt, full in [(0, 1.0), (1, 2.0), (3, 8.0), (6, 60.0), (1000, 60.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(full * 0.5 <= delay <= full for delay in delays), attempt
        assert len(set(delays)) > 1  # jittered: clients do not reconnect in step
    assert Backoff(base=2.0, cap=300.0, jitter=0.0).delay(2) == 8.0
