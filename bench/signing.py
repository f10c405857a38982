"""Complete signings per second against `undersigned serve`, next to the raw insert rate of the same database.

    uv run python bench/signing.py [--postgres URL] [--signings 2000] [--concurrency 64] [--web-workers N]

For each database (SQLite always; PostgreSQL when --postgres or UNDERSIGNED_TEST_POSTGRES_URL names a
server, in a fresh database created and dropped here) it:

1. starts `undersigned serve` on a free loopback port, with its background worker, sending mail to a
   real SMTP server (aiosmtpd) this script runs on loopback in a child process;
2. raises every rate limit (loopback traffic would otherwise be held for review after 50 signings);
3. drives N complete signings with C concurrent clients: POST the JSON API → wait for the
   confirmation email at the SMTP server → POST the confirmation link (the button of the page the
   link opens, with the site's Origin, as a browser sends it). A signing is complete when the confirmed
   page comes back; its latency is submit → confirmed;
4. checks that the letter's public count equals the number of confirmed signings;
5. measures the database's raw insert rate: N single-row INSERT + COMMIT transactions into a scratch
   table, one after the other, through sqlite3 (same file and pragmas as the site) or psycopg;
6. prints signings/s, p50/p99 latency, the insert rate and the ratio;
7. as a second reference, drives the same server with minimal requests (an API lookup of a letter
   that does not exist: the middleware, one indexed SELECT, a JSON 404) at the same concurrency. A
   signing is two requests and an email, so half that rate bounds what any signing code could reach
   on this machine with this server.

Everything stays on 127.0.0.1; the run stops by itself after --time-limit seconds per database.
The goal (issue 2) is at least 100 confirmed signings per second on PostgreSQL on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

from tests.support.site import _fresh_postgres_database, drop_postgres_database, free_port  # noqa: E402

SLUG = "cancel-the-contracts"
CONFIRM_LINK = re.compile(rb"https?://[^\s\"<>]+/signatures/confirm/[\w-]+/")
COMPANIES = ["Google", "AWS", "Amazon", "Microsoft", "LinkedIn", "Meta", "Salesforce", "Acme Widgets"]


# --------------------------------------------------------------------------------------------------
# The SMTP server: aiosmtpd in a process of its own (in the load driver's event loop it answered late
# whenever the clients were busy, and the site's worker waited on it), passing each confirmation link
# through a pipe to the coroutine waiting for it.


class LinkHandler:
    def __init__(self, pipe: int):
        self.pipe = pipe

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        # The link is read from the raw message (the text part is plain 8-bit, not encoded): parsing
        # every message with the email package would make this script, not the site, the bottleneck.
        found = CONFIRM_LINK.search(envelope.content)
        link = found.group(0).decode() if found else "-"
        os.write(self.pipe, "".join(f"{recipient} {link}\n" for recipient in envelope.rcpt_tos).encode())
        return "250 OK"


def run_smtp_server(port: int, pipe: int) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(LinkHandler(pipe), hostname="bench-sink"), host="127.0.0.1", port=port
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class Sink:
    def __init__(self, port: int):
        self.waiting: dict[str, asyncio.Future] = {}
        self.early: dict[str, str] = {}  # links that arrived before anyone waited for them
        self.received = 0
        self.read_end, write_end = os.pipe()
        self.process = multiprocessing.get_context("fork").Process(target=run_smtp_server, args=(port, write_end), daemon=True)
        self.process.start()
        os.close(write_end)

    async def pump(self) -> None:
        """Hand each link from the SMTP process to whoever waits for it."""
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                           os.fdopen(self.read_end, "rb"))
        while line := await reader.readline():
            recipient, _, link = line.decode().rstrip("\n").partition(" ")
            self.received += 1
            future = self.waiting.pop(recipient, None)
            if future is not None and not future.done():
                future.set_result(link)
            else:
                self.early[recipient] = link

    async def link_for(self, recipient: str, timeout: float) -> str:
        if recipient in self.early:
            return self.early.pop(recipient)
        future = asyncio.get_running_loop().create_future()
        self.waiting[recipient] = future
        return await asyncio.wait_for(future, timeout)

    def stop(self) -> float:
        """Stop the SMTP process; the CPU seconds it used."""
        used = _cpu_seconds(self.process.pid)
        self.process.terminate()
        self.process.join(10)
        return used


# --------------------------------------------------------------------------------------------------
# The site


class Site:
    def __init__(self, *, database_url: str | None, smtp_port: int, web_workers: int | None):
        self.data_dir = Path(tempfile.mkdtemp(prefix="undersigned-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EMAIL_URL")}
        self.env.update({
            "DATA_DIR": str(self.data_dir), "SITE_URL": self.url, "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
        })
        self.env.pop("PUBLICATION_INTERVAL", None)  # the site's default: the log is published in batches
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.web_workers = web_workers
        self.log_path = self.data_dir / "serve.log"

    def start(self) -> None:
        command = [sys.executable, "-m", "undersigned", "serve", "--port", str(self.port)]
        if self.web_workers:
            command += ["--workers", str(self.web_workers)]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"undersigned serve exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + f"/api/v1/letters/{SLUG}", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"undersigned serve did not answer in time:\n{self.log()}")

    def manage_shell(self, code: str) -> str:
        result = subprocess.run([sys.executable, "-m", "undersigned", "manage", "shell", "-c", code],
                                env=self.env, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise SystemExit(f"`undersigned manage shell` failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def raise_rate_limits(self) -> None:
        self.manage_shell(
            "from undersigned.moderation.models import RateLimit\n"
            "RateLimit.objects.update(max_per_day=10**9)\n"
            "print(RateLimit.objects.count())"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --------------------------------------------------------------------------------------------------
# The load


async def drive(site: Site, sink: Sink, *, signings: int, concurrency: int, time_limit: float) -> dict:
    pump = asyncio.ensure_future(sink.pump())
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    phases: dict[str, list[float]] = {"submit": [], "email": [], "confirm": []}
    failures: list[str] = []
    next_index = iter(range(signings))
    deadline = time.monotonic() + time_limit

    async def client_loop(client: aiohttp.ClientSession) -> None:
        # The confirmation button is a form: POSTed as a browser on the site does, with the site's own
        # Origin (public pages set no CSRF cookie; undersigned.lib.crossorigin checks the headers).
        origin = {"Origin": site.url}
        for index in next_index:
            if time.monotonic() > deadline:
                return
            address = f"bench-{run}-{index}@bench{index % 7}.example"
            start = time.perf_counter()
            try:
                async with client.post(f"/api/v1/letters/{SLUG}/signatures", json={
                    "company": COMPANIES[index % len(COMPANIES)], "email": address,
                    "name": f"Bench Signer {index}", "show_name": index % 2 == 0,
                }) as response:
                    body = await response.read()
                    if response.status != 202:
                        failures.append(f"submit {response.status}: {body[:200]!r}")
                        continue
                submitted = time.perf_counter()
                link = await sink.link_for(address, timeout=max(1.0, deadline - time.monotonic()))
                mailed = time.perf_counter()
                async with client.post(urlsplit(link).path, data={}, headers=origin) as response:
                    body = await response.read()
                    if response.status != 200 or b'id="withdraw-link"' not in body:
                        failures.append(f"confirm {response.status}: {body[:200]!r}")
                        continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                failures.append(f"{type(error).__name__}: {error}")
                continue
            done = time.perf_counter()
            latencies.append(done - start)
            phases["submit"].append(submitted - start)
            phases["email"].append(mailed - submitted)
            phases["confirm"].append(done - mailed)

    try:
        elapsed = await run_clients(site, concurrency, client_loop)
    finally:
        pump.cancel()
    return {"latencies": latencies, "phases": phases, "failures": failures, "elapsed": elapsed,
            "emails": sink.received}


async def run_clients(site: Site, concurrency: int, client_loop) -> float:
    """Run ``client_loop(session)`` for ``concurrency`` clients at once; the seconds they took."""
    # One session and one keep-alive connection per client (public pages set no cookie to keep).
    timeout = aiohttp.ClientTimeout(total=60)
    # keepalive_timeout well under serve's 5 s: a client waiting for its email must not reuse a connection
    # the server is closing (a POST is not retried).
    clients = [aiohttp.ClientSession(site.url, timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=1.0))
               for _ in range(concurrency)]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(client_loop(client) for client in clients))
    finally:
        elapsed = time.perf_counter() - started
        for client in clients:
            await client.close()
    return elapsed


async def drive_minimal(site: Site, *, requests: int, concurrency: int) -> float:
    """Seconds taken by ``requests`` minimal requests (a JSON 404 after one indexed SELECT)."""
    remaining = iter(range(requests))

    async def client_loop(client: aiohttp.ClientSession) -> None:
        for _ in remaining:
            async with client.get("/api/v1/letters/no-such-letter") as response:
                await response.read()
                if response.status != 404:
                    raise SystemExit(f"minimal request: HTTP {response.status}")

    return await run_clients(site, concurrency, client_loop)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_seconds(site: Site, database_name: str | None) -> dict[str, float]:
    """CPU time used so far by the site's processes (web and worker) and by its PostgreSQL backends."""
    children: dict[int, list[int]] = {}
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
            processes[int(entry.name)] = cmdline
    # The site's processes: `undersigned serve`, gunicorn (master and web workers) and the worker.
    web_total, worker_total, stack = 0.0, 0.0, [site.process.pid]
    while stack:
        pid = stack.pop()
        if " worker" in processes.get(pid, "") and "gunicorn" not in processes.get(pid, ""):
            worker_total += _cpu_seconds(pid)
        else:
            web_total += _cpu_seconds(pid)
        stack.extend(children.get(pid, []))
    database_total = 0.0
    if database_name:
        database_total = sum(_cpu_seconds(pid) for pid, cmdline in processes.items()
                             if cmdline.startswith("postgres:") and f" {database_name} " in cmdline)
    return {"web": web_total, "worker": worker_total, "database": database_total, "bench": sum(os.times()[:2])}


def public_total(site: Site) -> int:
    import json

    with urllib.request.urlopen(site.url + f"/api/v1/letters/{SLUG}", timeout=10) as response:
        return json.load(response)["counts"]["total"]


# --------------------------------------------------------------------------------------------------
# The raw insert rate of the same database


def sqlite_insert_rate(path: Path, count: int) -> float:
    connection = sqlite3.connect(path, isolation_level=None, timeout=20)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # as the site's connections (settings.py)
    connection.execute("CREATE TABLE bench_insert (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    start = time.perf_counter()
    for index in range(count):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO bench_insert (payload) VALUES (?)", (f"row {index}",))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.execute("DROP TABLE bench_insert")
    connection.close()
    return count / elapsed


def postgres_insert_rate(url: str, count: int) -> float:
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)")
        connection.commit()
        start = time.perf_counter()
        for index in range(count):
            connection.execute("INSERT INTO bench_insert (payload) VALUES (%s)", (f"row {index}",))
            connection.commit()
        elapsed = time.perf_counter() - start
        connection.execute("DROP TABLE bench_insert")
        connection.commit()
    return count / elapsed


# --------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def bench(engine: str, base_postgres_url: str | None, args) -> dict:
    postgres_name = None
    database_url = None
    if engine == "postgresql":
        database_url, postgres_name = _fresh_postgres_database(base_postgres_url)
    smtp_port = free_port()
    site = Site(database_url=database_url, smtp_port=smtp_port, web_workers=args.web_workers)
    sink = Sink(smtp_port)
    try:
        print(f"[{engine}] starting undersigned serve …", flush=True)
        site.start()
        site.raise_rate_limits()
        print(f"[{engine}] {args.signings} signings, {args.concurrency} concurrent clients …", flush=True)
        cpu_before, load_before = cpu_seconds(site, postgres_name), os.getloadavg()[0]
        cpu_before["bench"] += _cpu_seconds(sink.process.pid)
        result = asyncio.run(drive(site, sink, signings=args.signings, concurrency=args.concurrency,
                                   time_limit=args.time_limit))
        cpu_after = cpu_seconds(site, postgres_name)
        cpu_after["bench"] += _cpu_seconds(sink.process.pid)
        result["cpu"] = {key: cpu_after[key] - cpu_before[key] for key in cpu_after}
        result["load"] = (load_before, os.getloadavg()[0])
        # Counts follow the transparency log, published in batches: publish the last one now.
        site.manage_shell("from undersigned.ledger.publish import publish_pending\nprint(publish_pending())")
        result["public_total"] = public_total(site)
        minimal = max(500, 2 * len(result["latencies"]))
        cpu_before = cpu_seconds(site, postgres_name)
        elapsed = asyncio.run(drive_minimal(site, requests=minimal, concurrency=args.concurrency))
        cpu_after = cpu_seconds(site, postgres_name)
        result["minimal"] = {"rate": minimal / elapsed,
                             "cpu_ms": sum(cpu_after[key] - cpu_before[key] for key in cpu_after) / minimal * 1000}
    finally:
        site.stop()
        sink.stop()
    try:
        if engine == "postgresql":
            result["insert_rate"] = postgres_insert_rate(database_url, args.signings)
        else:
            result["insert_rate"] = sqlite_insert_rate(site.data_dir / "undersigned.sqlite3", args.signings)
    finally:
        if postgres_name:
            drop_postgres_database(base_postgres_url, postgres_name)
    if result["failures"]:
        print(f"[{engine}] {len(result['failures'])} failures, first: {result['failures'][:3]}", flush=True)
        print(site.log()[-3000:])
    return result


def report(engine: str, result: dict, goal: float | None) -> str:
    latencies = result["latencies"]
    done = len(latencies)
    rate = done / result["elapsed"] if result["elapsed"] else 0.0
    lines = [
        f"{engine}:",
        f"  confirmed signings   {done} in {result['elapsed']:.1f} s  ({len(result['failures'])} failed)",
        f"  signings/s           {rate:.1f}" + (f"   (goal ≥ {goal:.0f}: {'met' if rate >= goal else 'NOT met'})" if goal else ""),
    ]
    if latencies:
        lines.append(f"  latency p50 / p99    {percentile(latencies, 0.5) * 1000:.0f} ms / {percentile(latencies, 0.99) * 1000:.0f} ms"
                     f"   (mean {statistics.fmean(latencies) * 1000:.0f} ms, submit → confirmed)")
        lines.append("  p50 by phase         " + ", ".join(
            f"{name} {percentile(values, 0.5) * 1000:.0f} ms" for name, values in result["phases"].items()))
    if done:
        cpu = result["cpu"]
        lines.append(f"  CPU per signing      site {(cpu['web'] + cpu['worker']) / done * 1000:.1f} ms "
                     f"(web {cpu['web'] / done * 1000:.1f}, worker {cpu['worker'] / done * 1000:.1f}), "
                     f"database backends {cpu['database'] / done * 1000:.1f} ms, "
                     f"this script and its SMTP server {cpu['bench'] / done * 1000:.1f} ms")
        per_signing = sum(cpu.values()) / done
        lines.append(f"  ceiling              {(os.cpu_count() or 1) / per_signing:.0f} signings/s if all {os.cpu_count()} cores "
                     "did nothing else (cores ÷ CPU per signing)")
    lines += [
        f"  load average         {result['load'][0]:.1f} before, {result['load'][1]:.1f} after (2 cores: >2 means other work competed)",
        f"  public count         {result['public_total']}" + ("" if result["public_total"] == done else "  (≠ confirmed!)"),
        f"  raw insert rate      {result['insert_rate']:.0f} single-row INSERT+COMMIT/s",
        f"  ratio                {rate / result['insert_rate']:.3f} (signings/s ÷ inserts/s)",
    ]
    if "minimal" in result:
        minimal = result["minimal"]
        lines += [
            f"  minimal request      {minimal['rate']:.0f}/s, {minimal['cpu_ms']:.1f} ms CPU each (server, database and "
            "client): an API 404 after one SELECT, same server and concurrency",
            f"  bound                {minimal['rate'] / 2:.0f} signings/s if a signing cost no more than its two "
            f"requests; this run reached {rate / (minimal['rate'] / 2):.2f} of it",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.getenv("UNDERSIGNED_TEST_POSTGRES_URL", ""),
                        help="PostgreSQL server URL (a fresh database is created on it and dropped after). "
                             "Default: $UNDERSIGNED_TEST_POSTGRES_URL; empty: SQLite only.")
    parser.add_argument("--signings", type=int, default=2000, help="Complete signings per database (default 2000).")
    parser.add_argument("--concurrency", type=int, default=64, help="Concurrent clients (default 64).")
    parser.add_argument("--web-workers", type=int, default=None,
                        help="gunicorn processes for `undersigned serve` (default: serve's own, one per core).")
    parser.add_argument("--time-limit", type=float, default=600, help="Stop driving after this many seconds per database.")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="Run one database only.")
    args = parser.parse_args()
    if args.signings < 1 or args.concurrency < 1:
        parser.error("--signings and --concurrency must be at least 1")

    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        engines = [args.only]
        if args.only == "postgresql" and not args.postgres:
            parser.error("--only postgresql needs --postgres URL or UNDERSIGNED_TEST_POSTGRES_URL")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    reports = []
    for engine in engines:
        result = bench(engine, args.postgres, args)
        reports.append(report(engine, result, 100.0 if engine == "postgresql" else None))
        print(reports[-1], flush=True)
    print("\n" + "\n".join(reports))


if __name__ == "__main__":
    main()
