"""The worker processes that parse descriptor files, and when to use them.

This module imports nothing heavy, so the CLI can start the workers before it loads SQLAlchemy:
their start-up then overlaps the parent's.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from catalog.locations import DESCRIPTOR_NAME
from catalog.processing import FileResult, FileTask, process_files, start_worker

TASK_SIZE = 48  # files per unit of work sent to a worker
PARALLEL_THRESHOLD = 400  # below this many files to parse, starting workers costs more than it saves


class WorkerPool:
    """Runs file batches in worker processes (inline for small rounds); results come in task order."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = os.cpu_count() or 1 if workers is None else workers
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

    def run(self, items: Iterable[FileTask | FileResult]) -> Iterator[FileResult]:
        """Results already known pass straight through; tasks are processed, results in task order,
        with a bounded number of batches in flight (so memory stays flat however large the catalogue)."""
        tasks: list[FileTask] = []
        for item in items:
            if isinstance(item, FileResult):
                yield item
            else:
                tasks.append(item)
        batches = [tasks[i : i + TASK_SIZE] for i in range(0, len(tasks), TASK_SIZE)]
        if self.workers <= 1 or len(tasks) < PARALLEL_THRESHOLD:
            for batch in batches:
                yield from process_files(batch)
            return
        self.warm_up()
        assert self.executor is not None
        in_flight: deque[Future[list[FileResult]]] = deque()
        pending = deque(batches)
        while pending and len(in_flight) < self.workers * 3:
            in_flight.append(self.executor.submit(process_files, pending.popleft()))
        while in_flight:
            results = in_flight.popleft().result()
            if pending:
                in_flight.append(self.executor.submit(process_files, pending.popleft()))
            yield from results


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
