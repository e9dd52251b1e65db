"""Keep requests to Meross devices under the cloud's limits, commands before polls.

The Meross cloud disconnects (and eventually bans) accounts that send too many MQTT messages.
``RequestLimiter`` is a token bucket: ``burst`` requests may go at once, then one every
``60 / max_per_minute`` seconds. Waiting requests are served by priority (commands first), then
in arrival order. ``requests_per_minute`` reports how many requests went out in the last minute.
"""

import asyncio
from collections import deque
from enum import IntEnum
import heapq
import itertools

RATE_WINDOW = 60.0


class RequestPriority(IntEnum):
    """Lower values are served first."""

    COMMAND = 0
    POLL = 1


class RequestLimiter:
    """An asyncio token bucket with a priority queue of waiters."""

    def __init__(self, *, max_per_minute: float = 60.0, burst: int = 5) -> None:
        """Allow ``max_per_minute`` on average and ``burst`` back to back."""
        if max_per_minute <= 0 or burst < 1:
            raise ValueError("max_per_minute must be > 0 and burst >= 1")
        self._rate = max_per_minute / 60.0
        self._burst = burst
        self._tokens = float(burst)
        self._updated: float | None = None
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._history: deque[float] = deque()
        self.granted = 0

    @property
    def max_per_minute(self) -> float:
        """The configured average rate."""
        return self._rate * 60.0

    @property
    def queued(self) -> int:
        """Requests waiting for a slot."""
        return sum(1 for _, _, fut in self._waiters if not fut.done())

    @property
    def requests_per_minute(self) -> int:
        """Requests let through during the last 60 seconds."""
        if self._loop is None:
            return 0
        self._trim(self._loop.time())
        return len(self._history)

    def _trim(self, now: float) -> None:
        while self._history and self._history[0] <= now - RATE_WINDOW:
            self._history.popleft()

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def _grant(self, now: float) -> None:
        self._tokens -= 1
        self.granted += 1
        self._history.append(now)
        self._trim(now)

    async def acquire(self, priority: RequestPriority = RequestPriority.POLL) -> None:
        """Wait until a request of ``priority`` may be sent."""
        loop = self._loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        if not self.queued and self._tokens >= 1:
            self._grant(now)
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._sequence), future))
        self._schedule()
        try:
            await future
        except asyncio.CancelledError:
            if not self.queued and self._timer is not None:
                self._timer.cancel()
                self._timer = None
                self._waiters.clear()
            raise

    def _schedule(self) -> None:
        if self._timer is not None or self._loop is None or not self._waiters:
            return
        delay = max(0.0, (1.0 - self._tokens) / self._rate)
        self._timer = self._loop.call_later(delay, self._dispatch)

    def _dispatch(self) -> None:
        self._timer = None
        assert self._loop is not None
        now = self._loop.time()
        self._refill(now)
        while self._waiters and self._tokens >= 1:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            future.set_result(None)
            self._grant(now)
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        self._schedule()

    def close(self) -> None:
        """Cancel the timer and every waiter (on unload)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _, _, future in self._waiters:
            future.cancel()
        self._waiters.clear()
