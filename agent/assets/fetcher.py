"""A small pool of download workers with retries, and the supervisor that keeps it alive.

Three workers by default (a Pi has little memory: each writes its download to disk as it
arrives, and one picture at a time is checked in memory); one download at a time per
server, so that one hostile or stuck server ties up one worker, never the pool: every
other image is delayed by at most that one download's deadline. A worker survives every
exception a download raises; if a worker dies all the same (a bug), `supervise` — called
by the core on every turn of its loop — starts a new one, puts the job it held back in the
queue and reports `FetcherRestarted`.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Any

from agent.assets.cache import AssetCache
from agent.assets.download import download, parse_url
from agent.assets.settings import AssetKind, DownloadError, FetchSettings
from display_layouts.image_formats import RemoteImage
from signage_base.backoff import backoff_delay

log = logging.getLogger(__name__)


_RESTART_MAX_S = 300.0
_CALM_S = 600.0  # this long without a worker dying, and the back-off starts again at 1 s


@dataclass(frozen=True, slots=True)
class AssetReady:
    sha256: str  # the asset name: a SHA-256, or a CAP resource's "sha1-…"


@dataclass(frozen=True, slots=True)
class AssetFailure:
    item_ids: tuple[str, ...]
    url: str
    message: str


@dataclass(frozen=True, slots=True)
class FetcherRestarted:
    """A download worker died and was replaced (the core reports it as `display.error`)."""

    message: str


@dataclass(eq=False)
class _Job:
    ref: RemoteImage
    item_ids: set[str]
    once: bool = False  # report the first failure only (an alert's picture: it shows without)
    kind: AssetKind = "image"
    attempt: int = 0
    due: float = 0.0
    running: bool = False
    given_up: bool = False  # a permanent failure: not fetched again while it is wanted
    server: str = field(init=False)  # one download at a time per server

    def __post_init__(self) -> None:
        try:
            self.server = str(parse_url(self.ref.url)[0])
        except DownloadError:
            self.server = self.ref.url  # fails at once, without contacting anything


@dataclass
class _Worker:
    job: _Job | None = None  # the download it is doing
    death: str | None = None  # why its thread ended, for the supervisor's report
    thread: threading.Thread = field(init=False)


class AssetFetcher:
    """Downloads what the core asks for, a few at a time, with retries."""

    def __init__(
        self,
        cache: AssetCache,
        report: queue.Queue[Any],
        *,
        settings: FetchSettings | None = None,
        retry_min_s: float = 2.0,
        retry_max_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.report = report
        self.settings = settings or FetchSettings()
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.clock = clock
        # (url, asset name, settings, sink[, kind="video"]): replaced by tests that break it.
        self.download: Callable[..., object] = download
        self._jobs: dict[str, _Job] = {}
        self._busy_servers: set[str] = set()
        self._changed = threading.Condition()
        self._stopping = False
        self._workers: list[_Worker] = []
        self._unreported: list[FetcherRestarted] = []
        self._restarts = 0  # restarts in a row, for the supervisor's back-off
        self._last_restart = self._next_restart = float("-inf")
        self._rng = random.Random()

    def want(
        self,
        wanted: dict[str, tuple[RemoteImage, set[str]]],
        *,
        once: Set[str] = frozenset(),
        clips: Set[str] = frozenset(),
    ) -> None:
        """Replace the set of wanted images: asset name → (reference, ids of the items
        using it). Failures of the images named in `once` are reported the first time
        only (retries go on quietly); those named in `clips` are video clips.

        Images no longer wanted are dropped from the queue (a replaced playlist must not
        keep fetching); new ones are fetched at once. An image that failed for good is not
        fetched again unless its URL changed.
        """
        cached = {sha for sha, (ref, _ids) in wanted.items() if self._cached(ref, sha in clips)}
        with self._changed:
            for sha in list(self._jobs):
                if sha not in wanted or sha in cached:
                    del self._jobs[sha]
            for sha, (ref, item_ids) in wanted.items():
                if sha in cached:
                    continue
                job = self._jobs.get(sha)
                kind: AssetKind = "video" if sha in clips else "image"
                if job is None or job.ref.url != ref.url or job.kind != kind:
                    self._jobs[sha] = _Job(ref, set(item_ids), sha in once, kind, due=self.clock())
                else:
                    job.item_ids = set(item_ids)
                    job.once = sha in once
            self._changed.notify_all()
        self._start_workers()

    def _cached(self, ref: RemoteImage, clip: bool) -> bool:
        found = self.cache.get_clip(ref) if clip else self.cache.get(ref)
        return found is not None

    @property
    def pending(self) -> int:
        with self._changed:
            return sum(1 for job in self._jobs.values() if not job.given_up)

    @property
    def alive(self) -> bool:
        """Whether every worker started so far is running."""
        with self._changed:
            return all(worker.thread.is_alive() for worker in self._workers)

    def _start_workers(self) -> None:
        with self._changed:
            while len(self._workers) < self.settings.workers and not self._stopping:
                worker = self._new_worker(len(self._workers))
                if worker is None:
                    return  # the supervisor tries again on its next round
                self._workers.append(worker)

    def _new_worker(self, index: int) -> _Worker | None:
        worker = _Worker()
        worker.thread = threading.Thread(
            target=self._run, args=(worker,), name=f"asset-fetcher-{index}", daemon=True
        )
        try:
            worker.thread.start()
        except RuntimeError as exc:  # "can't start new thread": out of memory or threads
            log.error("cannot start image download worker %d: %s", index, exc)
            return None
        return worker

    def supervise(self) -> bool:
        """Replace dead workers (reported with `FetcherRestarted`); True if any was."""
        restarted: list[str] = []
        now = self.clock()
        with self._changed:
            if self._stopping:
                return False
            if now - self._last_restart > _CALM_S:
                self._restarts = 0  # long enough without a death: forgiven
            for index, worker in enumerate(self._workers):
                if worker.thread.is_alive() or now < self._next_restart:
                    continue
                job = worker.job
                if job is not None:  # the job it held goes back in the queue
                    job.running = False
                    job.due = self.clock()
                    self._busy_servers.discard(job.server)
                replacement = self._new_worker(index)
                if replacement is None:
                    continue  # tried again on the next round
                why = worker.death or "it stopped"
                restarted.append(f"image download worker {index} died ({why}) and was restarted")
                self._workers[index] = replacement
            if restarted:
                # A worker that dies again and again (a bug met on every job) is restarted
                # ever more slowly: 1 s, 2 s, 4 s … at most 5 min; the events stay few.
                self._restarts += 1
                self._last_restart = now
                wait = min(_RESTART_MAX_S, 2.0 ** min(self._restarts - 1, 30))
                self._next_restart = now + wait
                self._changed.notify_all()  # the jobs given back are due now
            # Called every turn of the core's loop (30 a second with a ticker): the
            # workers are woken only when there is something for them.
            missing = len(self._workers) < self.settings.workers
        if missing and self.pending:
            self._start_workers()  # workers that could not be started before
        for message in restarted:
            log.error("%s", message)
        self._unreported.extend(FetcherRestarted(message) for message in restarted)
        # The caller is the core's loop, the one reader of `report`: it must never wait on
        # a full queue. What does not fit now goes on the next round.
        while self._unreported:
            try:
                self.report.put_nowait(self._unreported[0])
            except queue.Full:
                break
            self._unreported.pop(0)
        return bool(restarted)

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            workers = list(self._workers)
        end = time.monotonic() + 2
        for worker in workers:  # a worker in a download is a daemon: not waited for long
            worker.thread.join(timeout=max(0.0, end - time.monotonic()))

    # --- the workers ---------------------------------------------------------------------

    def _next_job(self, worker: _Worker) -> _Job | None:
        with self._changed:
            while not self._stopping:
                now = self.clock()
                waiting = [j for j in self._jobs.values() if not j.running and not j.given_up]
                due = [j for j in waiting if j.due <= now and j.server not in self._busy_servers]
                if due:
                    job = min(due, key=lambda j: j.due)
                    job.running = True
                    self._busy_servers.add(job.server)
                    worker.job = job
                    return job
                later = [j.due - now for j in waiting if j.due > now]
                self._changed.wait(timeout=min(later, default=None))
            return None

    def _run(self, worker: _Worker) -> None:
        try:
            while (job := self._next_job(worker)) is not None:
                try:
                    self._fetch(job)
                except Exception as exc:  # a bug in the fetch path: the job fails, not us
                    self._failed(job, f"internal error: {type(exc).__name__}: {exc}", False)
                finally:
                    with self._changed:
                        job.running = False
                        worker.job = None
                        self._busy_servers.discard(job.server)
                        self._changed.notify_all()
        except BaseException as exc:  # the thread ends here; the supervisor says why
            worker.death = f"{type(exc).__name__}: {exc}"[:200]

    def _fetch(self, job: _Job) -> None:
        ref = job.ref
        name = ref.asset_name
        partial = None
        try:
            partial = self.cache.partial(name, threading.current_thread().name)
            clip = job.kind == "video"
            with partial.open("w+b") as sink:
                if clip:
                    self.download(ref.url, name, self.settings, sink, kind="video")
                else:
                    self.download(ref.url, name, self.settings, sink)
                size = sink.tell()
            self.cache.adopt(name, partial, clip=clip)
        except DownloadError as exc:
            self._failed(job, str(exc), exc.permanent)
            return
        except OSError as exc:  # the cache could not be written
            self._failed(job, f"cannot store the {job.kind}: {exc.strerror or exc}", False)
            return
        finally:
            if partial is not None:
                partial.unlink(missing_ok=True)
        with self._changed:
            current = self._jobs.get(name) is job
            if current:
                del self._jobs[name]
        log.info("downloaded %s (%d bytes)", ref.url, size)
        if current:
            self.report.put(AssetReady(name))

    def _failed(self, job: _Job, message: str, permanent: bool) -> None:
        with self._changed:
            if self._jobs.get(job.ref.asset_name) is not job:
                return  # no longer wanted
            job.attempt += 1
            if permanent:
                job.given_up = True
                delay = 0.0
            else:
                delay = backoff_delay(job.attempt, self.retry_min_s, self.retry_max_s, self._rng)
                job.due = self.clock() + delay
            item_ids = tuple(sorted(job.item_ids))
        if permanent:
            log.warning("%s %s: %s; not retried", job.kind, job.ref.url, message)
            detail = f"{message} (not retried)"
        else:
            log.warning("%s %s: %s; retry in %.0f s", job.kind, job.ref.url, message, delay)
            detail = f"{message} (attempt {job.attempt}; retrying)"
        if job.once and job.attempt > 1:
            return  # said once already; the retries go on quietly
        self.report.put(AssetFailure(item_ids, job.ref.url, detail))
