"""Cold starts: wait until the provider reports no replica, send one small streamed chat
completion, and time its first token and its end on the client's clock, with the provider's own
status changes (read in the background meanwhile) on the same clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tuna.bench.stats import spread
from tuna.errors import TunaError

# What the provider says: its own word and the replicas it bills (None: it does not say).
Reading = tuple[str, "int | None"]


@dataclass
class ColdRun:
    ttft_s: float | None
    total_s: float
    error: str | None
    timeline: list[tuple[float, str, int | None]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"ttft_s": self.ttft_s, "total_s": self.total_s, "error": self.error,
                "provider_timeline": [{"at_s": round(at, 3), "status": word, "replicas": n}
                                      for at, word, n in self.timeline]}


@dataclass(frozen=True)
class ColdStartResult:
    service_name: str
    runs: list[ColdRun]

    def summary(self) -> dict:
        done = [run for run in self.runs if run.error is None]
        return {"runs": len(self.runs), "errors": [run.error for run in self.runs if run.error],
                "ttft_s": spread([run.ttft_s for run in done if run.ttft_s is not None]),
                "total_s": spread([run.total_s for run in done])}


def wait_for_zero(read: Callable[[], Reading], timeout_s: float, poll_s: float,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """Until the provider reports no replica; a provider that does not count them cannot be
    measured from cold, and a wait past timeout_s says how many are still up."""
    deadline = clock() + timeout_s
    while True:
        word, replicas = read()
        if replicas is None:
            raise TunaError(f"the provider does not report replica counts ({word}), so tuna "
                            "cannot see the service at zero: a cold start cannot be measured")
        if replicas == 0:
            return
        if clock() >= deadline:
            raise TunaError(f"still {replicas} replica(s) ({word}) after {timeout_s:.0f} s: "
                            "the service has not scaled to zero (its --scale-down-delay); "
                            "try again later or with a longer --zero-timeout")
        sleep(poll_s)


class Timeline:
    """The provider's status changes while a request runs, read on another thread."""

    def __init__(self, read: Callable[[], Reading], poll_s: float,
                 clock: Callable[[], float] = time.perf_counter):
        self.read, self.poll_s, self.clock = read, poll_s, clock
        self.changes: list[tuple[float, str, int | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self, origin: float) -> None:
        self.origin = origin
        self._thread.start()

    def _note(self) -> None:
        try:
            word, replicas = self.read()
        except TunaError:
            word, replicas = "unreadable", None
        if not self.changes or self.changes[-1][1:] != (word, replicas):
            self.changes.append((self.clock() - self.origin, word, replicas))

    def _watch(self) -> None:
        self._note()
        while not self._stop.wait(self.poll_s):
            self._note()
        self._note()  # what the provider says once the answer is in

    def stop(self) -> list[tuple[float, str, int | None]]:
        self._stop.set()
        self._thread.join(30)
        return self.changes
