"""``fhirsrv import PATH… [--url BASE] [--token T]``: progress while loading, a summary after.

On a terminal the progress is a bar (rich): files done, resources done of the total, rate
and ETA. Elsewhere (CI logs, pipes) it is one plain line per file, which logs read better
than a redrawn bar. The exit status is 0 when everything was stored, 1 when anything was
rejected, 2 when there was nothing to load.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .client import HttpClient, InProcessClient
from .runner import FileResult, Importer
from .sources import Source, discover


class RateColumn(ProgressColumn):
    """Resources per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} res/s" if speed else "— res/s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhirsrv import",
        description="Load FHIR Bundles (transaction, batch, document, collection), single resources and "
                    "NDJSON files or folders. Safe to run twice: resources with ids are PUT by id.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (*.json, *.ndjson)")
    parser.add_argument("--url", help="base URL of a running FHIR server (default: this machine's database, "
                                      "in-process)")
    parser.add_argument("--token", help="bearer token sent as Authorization")
    parser.add_argument("--batch-size", type=int, default=200, help="entries per batch for NDJSON and "
                                                                    "collections (default 200)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="files loaded at the same time, after the shared Synthea files (default 1)")
    parser.add_argument("--progress", choices=("auto", "bar", "plain", "none"), default="auto",
                        help="bar on a terminal, plain lines otherwise (default auto)")
    return parser


def _eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class PlainProgress:
    """One line per file: position, outcome, resources so far, rate and ETA."""

    def __init__(self, console: Console, files: int, total: int) -> None:
        self.console, self.files, self.total = console, files, total
        self.done_files = 0
        self.done = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()  # --jobs: files finish on several threads

    def advance(self, count: int) -> None:
        with self.lock:
            self.done += count

    def file_done(self, result: FileResult) -> None:
        with self.lock:
            self._file_done(result)

    def _file_done(self, result: FileResult) -> None:
        self.done_files += 1
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = _eta((self.total - self.done) / rate) if rate else "?"
        state = f"{result.stored} stored" + (f", {result.rejected} rejected" if result.rejected else "")
        self.console.print(
            f"[{self.done_files}/{self.files}] {result.path.name}: {state} | "
            f"{self.done}/{self.total} resources, {rate:,.0f} resources/s, ETA {eta}",
            markup=False, highlight=False)

    def close(self) -> None:
        pass


class BarProgress:
    def __init__(self, console: Console, files: int, total: int) -> None:
        self.files = files
        self.done_files = 0
        self.bar = Progress(
            TextColumn("{task.fields[files]} files"), BarColumn(), MofNCompleteColumn(),
            TextColumn("resources"), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console)
        self.task = self.bar.add_task("import", total=total, files=f"0/{files}")
        self.lock = threading.Lock()
        self.bar.start()

    def advance(self, count: int) -> None:
        self.bar.advance(self.task, count)

    def file_done(self, result: FileResult) -> None:
        with self.lock:  # --jobs: files finish on several threads
            self.done_files += 1
            self.bar.update(self.task, files=f"{self.done_files}/{self.files}")
        if result.rejected:
            self.bar.console.print(f"rejected in {result.path}: {'; '.join(result.reasons)}",
                                   markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


class NoProgress(PlainProgress):
    def _file_done(self, result: FileResult) -> None:
        pass


def summarise(console: Console, results: list[FileResult], seconds: float) -> None:
    stored = sum(r.stored for r in results)
    rejected = [r for r in results if r.rejected]
    rate = stored / seconds if seconds > 0 else 0.0
    console.print(f"Imported {stored} resources from {len(results)} files in {seconds:.1f} s "
                  f"({rate:,.0f} resources/s).", markup=False, highlight=False)
    for result in results:
        if not result.stored and not result.rejected and result.reasons:
            console.print(f"  empty: {result.path}", markup=False, highlight=False)
    not_idempotent = sum(r.not_idempotent for r in results)
    if not_idempotent:
        console.print(f"Note: {not_idempotent} resources had no id and no identifier, so they were created "
                      "with server ids: loading them again would duplicate them.", markup=False, highlight=False)
    not_atomic = [r for r in results if r.not_atomic]
    if not_atomic:
        console.print(f"Note: the server does not support transactions; {len(not_atomic)} transaction Bundles "
                      "were stored entry by entry (not all-or-nothing).", markup=False, highlight=False)
    if rejected:
        total = sum(r.rejected for r in rejected)
        console.print(f"Rejected {total} resources in {len(rejected)} files:", markup=False, highlight=False)
        for result in rejected:
            console.print(f"  {result.path}: {result.rejected} rejected — {'; '.join(result.reasons)}",
                          markup=False, highlight=False)


def load_all(importer: Importer, sources: list[Source], jobs: int,
             on_file: Callable[[FileResult], None]) -> list[FileResult]:
    """Load the shared files (which others refer to) in order, then the rest on ``jobs`` threads."""

    def load(source: Source) -> FileResult:
        result = importer.load(source)
        on_file(result)
        return result

    first = [s for s in sources if s.load_first]
    results = [load(source) for source in first]
    rest = sources[len(first):]
    if jobs == 1:
        return results + [load(source) for source in rest]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return results + list(pool.map(load, rest))


def run(argv: Sequence[str], console: Console | None = None) -> int:
    args = build_parser().parse_args(list(argv))
    console = console or Console(soft_wrap=True)
    sources = list(discover(args.paths))
    if not sources:
        console.print("nothing to import: no .json or .ndjson files under the paths given", markup=False)
        return 2
    total = sum(source.count() for source in sources)
    mode = args.progress
    if mode == "auto":
        mode = "bar" if console.is_terminal else "plain"
    progress_type = {"bar": BarProgress, "plain": PlainProgress, "none": NoProgress}[mode]
    client = HttpClient(args.url, args.token) if args.url else InProcessClient(args.token)
    started = time.monotonic()
    with client:
        progress = progress_type(console, len(sources), total)
        importer = Importer(client, batch_size=max(1, args.batch_size), on_progress=progress.advance)
        try:
            results = load_all(importer, sources, max(1, args.jobs), progress.file_done)
        finally:
            progress.close()
    summarise(console, results, time.monotonic() - started)
    return 1 if any(r.rejected for r in results) else 0
