"""The worker processes that parse descriptor files, and when to use them.

This module imports nothing heavy, so the CLI can start the workers before it loads SQLAlchemy:
their start-up then overlaps the parent's.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from catalog.locations import DESCRIPTOR_NAME
from catalog.processing import FileResult, FileTask, process_files, start_worker

TASK_SIZE = 48  # files per unit of work sent to a worker
PARALLEL_THRESHOLD = 400  # below this many files to parse, starting workers costs more than it saves


CGROUP = Path("/sys/fs/cgroup")


def default_workers(environ: Mapping[str, str] = os.environ, cgroup: Path = CGROUP) -> int:
    """How many parser processes to start: `STAIRWAY_WORKERS` when set, else the CPUs this process may
    use, by its CPU affinity and, in a container, its CPU limit (a pod on a 64-core node limited to
    two CPUs gets two workers, not 64 processes under its memory limit)."""
    configured = environ.get("STAIRWAY_WORKERS", "").strip()
    if configured:
        if not configured.isdigit():
            raise ValueError(f"STAIRWAY_WORKERS must be a whole number of processes, not {configured!r}")
        return int(configured)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = _cpu_limit(cgroup)
    return cpus if limit is None else max(1, min(cpus, math.ceil(limit)))


def _cpu_limit(cgroup: Path) -> float | None:
    """The CPUs a container may use, from cgroup v2's cpu.max ("QUOTA PERIOD", or "max PERIOD") or
    else v1's CFS quota (-1 without a limit); None: no limit."""
    try:
        quota, period = (cgroup / "cpu.max").read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text(encoding="ascii").strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text(encoding="ascii").strip()
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


class WorkerPool:
    """Runs file batches in worker processes (inline for small rounds); results come in task order."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self, wait: bool = False) -> None:
        """Let the workers go; unless `wait`, they exit on their own while the caller carries on."""
        if self.executor is not None:
            self.executor.shutdown(wait=wait, cancel_futures=True)
            self.executor = None

    def warm_up(self) -> None:
        """Start the worker processes now, so their start-up overlaps the caller's work."""
        if self.workers > 1 and self.executor is None:
            # spawn: workers start small and import only the parsing modules, not the caller's state.
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker
            )
            for _ in range(self.workers):
                self.executor.submit(process_files, [])

    def run(self, queue: WorkQueue) -> Iterator[FileResult]:
        """Results for the queue's items, in queue order, while the caller appends to the queue as
        results arrive (a Location's files join the queue behind it, breadth first).

        Results already known pass straight through. Files are parsed in the workers once the
        queue has held PARALLEL_THRESHOLD files to parse or the workers are up, else here; at
        most a few batches are in flight, so memory stays flat however large the catalogue.
        """
        in_flight: deque[FileResult | Future[list[FileResult]] | list[FileTask]] = deque()
        ahead = max(self.workers, 1) * 3

        def fill() -> None:
            while queue.items and len(in_flight) < ahead:
                known = queue.items[0]
                if isinstance(known, FileResult):
                    in_flight.append(known)
                    queue.items.popleft()
                    continue
                batch = queue.take_tasks(TASK_SIZE)
                if self.workers > 1 and (self.executor is not None or queue.tasks_seen >= PARALLEL_THRESHOLD):
                    self.warm_up()
                    assert self.executor is not None
                    in_flight.append(self.executor.submit(process_files, batch))
                else:
                    in_flight.append(batch)

        fill()
        while in_flight:
            head = in_flight.popleft()
            if isinstance(head, FileResult):
                results = [head]
            elif isinstance(head, Future):
                results = head.result()
            else:
                results = process_files(head)
            for result in results:
                yield result
                fill()
            fill()


class WorkQueue:
    """The files an ingest still has to read, in order: tasks to parse, or results already known."""

    def __init__(self) -> None:
        self.items: deque[FileTask | FileResult] = deque()
        self.tasks_seen = 0  # tasks ever queued: how much parsing this ingest has in store

    def put(self, item: FileTask | FileResult) -> None:
        self.items.append(item)
        if isinstance(item, FileTask):
            self.tasks_seen += 1

    def take_tasks(self, most: int) -> list[FileTask]:
        """Up to `most` tasks from the front, stopping at the first known result."""
        batch: list[FileTask] = []
        items = self.items
        while items and len(batch) < most and isinstance(items[0], FileTask):
            batch.append(items.popleft())  # type: ignore[arg-type]
        return batch


def looks_large(paths: Sequence[str], threshold: int = PARALLEL_THRESHOLD) -> bool:
    """Whether the folders these paths sit in hold at least `threshold` descriptor files.

    A cheap guess, made before anything is parsed, of whether workers will be needed; it stops
    counting at the threshold.
    """
    seen = 0
    folders = [path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)) for path in paths]
    while folders and seen < threshold:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif DESCRIPTOR_NAME.search(entry.name):
                seen += 1
    return seen >= threshold
