"""Capacity of one records-service process (``make bench-service``; docs/service.md has the figures).

Two halves:
- ``python service/bench.py serve``: the service as the task runs it (the Dockerfile's CMD is
  ``python -m medivault_service``: one uvicorn process, one event loop, no workers), with JSON
  logs at INFO to a file. The only difference from ``medivault_service.__main__`` is the database
  token source: vanilla PostgreSQL cannot check an RDS IAM token, so the stand-in password of the
  tests (``BENCH_DB_TOKEN``) is presented instead (RDS signs IAM tokens locally, so no per-request
  cost is missing; a real IAM login costs more only when a new connection is opened).
- ``load(...)``: a closed-loop load generator (threads, keep-alive connections) that reports
  requests/s and p50/p99 latency per scenario.

The harness that starts PostgreSQL, Redis and moto, pins the server to one CPU with
``taskset -c 0`` (the production task has 1 vCPU, shared with the X-Ray sidecar) and the load
generator to the other, is tests/service/bench_records.py.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def serve() -> None:
    import uvicorn
    from medivault_service import jsonlog
    from medivault_service.api import create_app

    class StandInToken:
        def __init__(self, value: str) -> None:
            self.value = value

        def get(self) -> str:
            return self.value

        def invalidate(self) -> None:
            pass

    jsonlog.configure(os.environ.get("LOG_LEVEL", "INFO"))
    app = create_app(db_token=StandInToken(os.environ["BENCH_DB_TOKEN"]))
    # The same uvicorn options as medivault_service.__main__.
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None, access_log=False, proxy_headers=True, forwarded_allow_ips="*")


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float | None = None  # CPU time the server process used during the row

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_seconds is None or not self.requests:
            return None
        return self.server_cpu_seconds * 1000 / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def row(self) -> str:
        return (
            f"{self.name:<28} c={self.concurrency:<3} {self.rps:8.1f} req/s  p50 {self.percentile(50):7.1f} ms  "
            f"p99 {self.percentile(99):7.1f} ms  server CPU {self.cpu_ms_per_request or float('nan'):5.2f} ms/req  "
            f"({self.requests} requests, {self.errors} errors)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p99_ms": round(self.percentile(99), 1),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 1) if self.latencies_ms else None,
            "requests": self.requests,
            "errors": self.errors,
            "server_cpu_ms_per_request": round(self.cpu_ms_per_request, 2) if self.cpu_ms_per_request is not None else None,
        }


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a Linux process (/proc/<pid>/stat fields 14 and 15), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# One request: (method, path, headers, body) built per call (worker index, iteration).
Request = Callable[[int, int], tuple[str, str, dict[str, str], bytes | None]]


def load(
    base: str,
    name: str,
    request: Request,
    *,
    concurrency: int,
    seconds: float,
    expect: int,
    before: Callable[[int], None] | None = None,
    server_cpu: Callable[[], float] | None = None,
) -> Result:
    """``concurrency`` workers, each sending the next request when the previous answered."""
    parsed = urllib.parse.urlparse(base)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    started = time.monotonic()

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30)
        mine: list[float] = []
        failures = 0
        iteration = 0
        while time.monotonic() < stop_at:
            if before is not None:
                before(index)
            method, path, headers, body = request(index, iteration)
            iteration += 1
            t0 = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == expect
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=30)
                ok = False
            elapsed = (time.perf_counter() - t0) * 1000
            if ok:
                mine.append(elapsed)
            else:
                failures += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failures

    cpu_before = server_cpu() if server_cpu else None
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = server_cpu() - cpu_before if server_cpu and cpu_before is not None else None
    return Result(name, concurrency, len(latencies), errors[0], elapsed, latencies, cpu)


def report(results: list[Result], header: str) -> str:
    lines = [header, *(r.row() for r in results)]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        sys.exit("usage: python service/bench.py serve   (the load side runs from tests/service/bench_records.py: make bench-service)")


__all__ = ["Result", "json", "load", "report", "serve"]
