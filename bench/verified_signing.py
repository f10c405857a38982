"""Complete verified signing flows per second against `undersigned serve` on PostgreSQL over loopback.

    uv run python bench/verified_signing.py [--seconds 20] [--clients 2] [--threads 12] [--workers N]
        [--database postgres://undersigned:undersigned@127.0.0.1:5432/undersigned]

One flow is what a signer's client does (issue 3's goal: at least 150 flows/s on this 2-core machine):

    POST /verifications {email}  →  the code (read from the outbox table, where the worker would find it)
    → blind locally (RFC 9474)  →  POST /tokens  →  finalise  →  POST /signatures {token}  → 201

The site runs in a child process (`undersigned serve --no-worker`, gunicorn gthread, serve's default or `--workers`
processes) on a fresh PostgreSQL database created for the run and dropped after it; the load comes from
`--clients` processes with `--threads` threads each, on the same machine (so client CPU counts against
the result). Each flow uses a new address at a registry company. Reported: flows/s, p50/p99/max flow
latency, and, measured in the same run, blind signatures per second on one core
(`undersigned.lib.blindrsa.blind_sign`) next to `openssl speed -seconds 3 rsa2048` sign/s.

The site runs with the default PUBLICATION_INTERVAL (signatures enter the transparency log in batches,
published by the worker, which is not part of a flow and does not run here). The bench reads codes
from the outbox table, unsealing recipients with the ENCRYPTION_KEY it gives
the site (lib/sealing.py's derivation). The network rate limit is raised for the run (all load comes
from 127.0.0.1).

As an upper bound measured in the same run, the same clients then send the site its cheapest request (a
JSON 404 for a letter that does not exist) for up to 10 s: a flow is three requests, so a third of that
rate bounds what any flow code could reach with this server on this machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import multiprocessing
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import scratch  # noqa: E402  (bench/scratch.py: scratch databases; it puts the repository on the path)
from tests.support.site import free_port  # noqa: E402

SLUG = "cancel-the-contracts"
DOMAINS = ["google.com", "amazon.com", "microsoft.com", "salesforce.com", "oracle.com", "meta.com"]


def fernet_for(key: str):
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"undersigned-sealing\0" + key.encode()).digest()))


def client_process(url, database_url, encryption_key, seconds, threads, start_at, queue):
    import httpx
    import psycopg

    from undersigned.verification.client import SigningClient

    fernet = fernet_for(encryption_key)
    deadline = start_at + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    waiting: dict[str, str] = {}  # address -> code, filled by the outbox reader
    stop = threading.Event()

    def outbox_reader():
        # Rows commit out of id order, so each poll looks back over a window and skips what it saw.
        seen: set[int] = set()
        last = 0
        with psycopg.connect(database_url, autocommit=True) as connection:
            while not stop.is_set():
                rows = connection.execute(
                    "SELECT id, sealed_recipient, body_text FROM messaging_outgoingemail WHERE id > %s ORDER BY id",
                    [max(0, last - 2000)]).fetchall()
                fresh = [row for row in rows if row[0] not in seen]
                for pk, sealed, body in fresh:
                    seen.add(pk)
                    last = max(last, pk)
                    address = fernet.decrypt(sealed.encode()).decode()
                    if f"bench-{os.getpid()}-" not in address:
                        continue  # another client process's
                    found = re.search(r"\b(\d{8})\b", body)
                    with lock:
                        waiting[address] = found.group(1) if found else ""
                if not fresh:
                    time.sleep(0.003)

    def code_for(address, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with lock:
                if address in waiting:
                    return waiting.pop(address)
            time.sleep(0.001)
        raise TimeoutError(address)

    key_cache: dict[str, dict] = {}

    def runner(index):
        http = httpx.Client(base_url=url, timeout=30)

        def get(path):
            response = http.get(path)
            return response.status_code, response.json()

        def post(path, body):
            response = http.post(path, json=body)
            return response.status_code, response.json()

        api = SigningClient(site=url, letter=SLUG, get=get, post=post)
        n = 0
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < deadline:
            n += 1
            domain = DOMAINS[(index + n) % len(DOMAINS)]
            address = f"bench-{os.getpid()}-{index}-{n}-{secrets.token_hex(3)}@{domain}"
            began = time.perf_counter()
            try:
                api.request_code(address)
                code = code_for(address)
                key = key_cache.get(domain) or key_cache.setdefault(domain, api.key_for_email(address))
                receipt = api.token_with_code(address, code, key)
                api.submit(receipt)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            if time.time() <= deadline:
                latencies.append(time.perf_counter() - began)

    reader = threading.Thread(target=outbox_reader, daemon=True)
    reader.start()
    workers = [threading.Thread(target=runner, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    queue.put((latencies, errors))


def minimal_process(url, seconds, threads, start_at, queue):
    """The cheapest request the site answers (a JSON 404 for a letter that does not exist: the middleware
    and one indexed SELECT), from the same kind of client as the flows, for the upper bound."""
    import httpx

    counts = [0] * threads

    def runner(index):
        http = httpx.Client(base_url=url, timeout=30)
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < start_at + seconds:
            if http.get("/api/v1/letters/no-such-letter").status_code == 404:
                counts[index] += 1

    workers = [threading.Thread(target=runner, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(sum(counts))


def minimal_rate(url, clients, threads, seconds) -> float:
    queue = multiprocessing.Queue()
    start_at = time.time() + 1.0
    processes = [multiprocessing.Process(target=minimal_process, args=(url, seconds, threads, start_at, queue))
                 for _ in range(clients)]
    for p in processes:
        p.start()
    total = sum(queue.get() for _ in processes)
    for p in processes:
        p.join()
    return total / seconds


def cpu_seconds(match) -> float:
    """User + system CPU seconds of the processes whose command line matches ``match`` (Linux /proc)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not match(cmdline):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def start_site(database_url, workers, encryption_key):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="undersigned-bench-")
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL",)}
    env.update({"DATABASE_URL": database_url, "DATA_DIR": data_dir, "SITE_URL": url,
                "ENCRYPTION_KEY": encryption_key, "LOG_LEVEL": "WARNING"})
    log = open(Path(data_dir) / "serve.log", "wb")
    command = [sys.executable, "-m", "undersigned", "serve", "--port", str(port), "--no-worker"]
    if workers:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "/api/v1/letters", timeout=2) as response:
                if response.status == 200:
                    return process, url, Path(data_dir) / "serve.log"
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the site did not start:\n" + (Path(data_dir) / "serve.log").read_text(errors="replace")[-3000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the timed run")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=12, help="threads per client process")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn worker processes of the site (default: serve's own)")
    parser.add_argument("--database", default=os.getenv("BENCH_DATABASE_URL",
                        "postgres://undersigned:undersigned@127.0.0.1:5432/undersigned"),
                        help="a PostgreSQL server URL; a fresh database is created on it and dropped after")
    parser.add_argument("--skip-reference", action="store_true", help="do not measure blind_sign and openssl")
    args = parser.parse_args()

    import psycopg

    reference = None
    if not args.skip_reference:
        from blind_signing import median_rate, openssl_speed

        from undersigned.lib import blindrsa

        key = blindrsa.generate_private_key(2048)
        n = key.public_key().public_numbers().n
        items = [secrets.randbelow(n).to_bytes(256, "big") for _ in range(64)]
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if affinity:
            os.sched_setaffinity(0, {min(affinity)})
        ours, _ = median_rate(lambda m: blindrsa.blind_sign(key, m), items, 3, 1.5)
        openssl_sign, _, version = openssl_speed(2048)
        if affinity:
            os.sched_setaffinity(0, affinity)
        reference = (ours, openssl_sign, version)

    database_url, name = scratch._fresh_postgres_database(args.database)
    encryption_key = secrets.token_urlsafe(48)
    process = None
    try:
        process, url, log = start_site(database_url, args.workers, encryption_key)
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute("UPDATE moderation_ratelimit SET max_per_day = 100000000")
        # Warm up: one flow per domain creates the keys (key generation is not part of a flow).
        warm = multiprocessing.Queue()
        client_process(url, database_url, encryption_key, 3.0, len(DOMAINS), time.time() + 0.5, warm)
        warm.get()
        queue = multiprocessing.Queue()
        start_at = time.time() + 2.0
        site_match = lambda cmd: f"127.0.0.1:{url.rsplit(':', 1)[1]}" in cmd  # noqa: E731 - gunicorn and serve
        db_match = lambda cmd: cmd.startswith("postgres: ")  # noqa: E731 - every backend (others' too)
        cpu_before = (cpu_seconds(site_match), cpu_seconds(db_match))
        processes = [multiprocessing.Process(target=client_process, args=(
            url, database_url, encryption_key, args.seconds, args.threads, start_at, queue)) for _ in range(args.clients)]
        for p in processes:
            p.start()
        latencies, errors = [], []
        for _ in processes:
            got, failed = queue.get()
            latencies += got
            errors += failed
        for p in processes:
            p.join()
        cpu_site = cpu_seconds(site_match) - cpu_before[0]
        cpu_db = cpu_seconds(db_match) - cpu_before[1]
        with psycopg.connect(database_url, autocommit=True) as connection:
            counted = connection.execute("SELECT count(*) FROM signatures_signature WHERE kind = 'verified'").fetchone()[0]
        minimal = minimal_rate(url, args.clients, args.threads, min(args.seconds, 10.0))
    finally:
        if process:
            process.terminate()
            process.wait(timeout=30)
        scratch.drop_postgres_database(args.database, name)

    latencies.sort()
    rate = len(latencies) / args.seconds
    print(f"machine: {os.cpu_count()} cores; site: {args.workers or 'the default number of'} gunicorn workers × 4 threads on PostgreSQL; "
          f"load: {args.clients} processes × {args.threads} threads, {args.seconds:.0f} s")
    print(f"complete verified signing flows: {rate:.1f}/s  ({len(latencies)} flows, {len(errors)} errors, "
          f"{counted} verified signatures in the database)")
    if latencies:
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
        print(f"flow latency: p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    if latencies:
        per_flow = (cpu_site + cpu_db) / len(latencies)
        print(f"CPU per flow: site {cpu_site / len(latencies) * 1000:.1f} ms, PostgreSQL {cpu_db / len(latencies) * 1000:.1f} ms "
              f"(all backends) → at most {(os.cpu_count() or 1) / per_flow:.0f} flows/s on {os.cpu_count()} idle cores "
              f"with the clients elsewhere")
    print(f"reference (same run, same server and clients): the cheapest request (a JSON 404) at {minimal:.0f}/s; "
          f"a flow is three requests, so no flow code could exceed {minimal / 3:.0f} flows/s here "
          f"(these flows reach {rate / (minimal / 3):.2f} of that bound)")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine slows every figure)")
    if errors:
        print("first errors:", *sorted(set(errors))[:5], sep="\n  ")
    if reference:
        ours, openssl_sign, version = reference
        print(f"reference (same run, one core): blind_sign {ours:.0f}/s; {version} rsa2048 sign {openssl_sign:.0f}/s "
              f"(ratio {ours / openssl_sign:.2f})")
    print(f"goal: ≥ 150 flows/s — {'met' if rate >= 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
