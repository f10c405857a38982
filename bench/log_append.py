"""Appending to the transparency log must not slow signing: complete signings per second with and
without log work in the signing path, in the same run.

    uv run python bench/log_append.py [--postgres URL] [--signings 1500] [--concurrency 64] [--only sqlite|postgresql]

Reuses bench/signing.py (the running site, real SMTP, API → email → confirmation) twice per database:

- **with the log in the request** (``PUBLICATION_INTERVAL=0``): every confirmation appends its entry and
  signs a new tree head before the page answers — the most log work a signing can carry;
- **without** (``PUBLICATION_INTERVAL=3600``): confirmations only change the signature; then one batch
  publishes everything, timed separately (what the worker does every interval in production).

Both runs end with the public count checked against the confirmed signings (after the batch for the
second). Prints signings/s, p50/p99 and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_signing", HERE / "signing.py")
signing = importlib.util.module_from_spec(spec)
sys.modules["bench_signing"] = signing
spec.loader.exec_module(signing)


def run(engine: str, base_postgres_url: str | None, interval: int, args) -> dict:
    postgres_name = database_url = None
    if engine == "postgresql":
        database_url, postgres_name = signing._fresh_postgres_database(base_postgres_url)
    smtp_port = signing.free_port()
    sink = signing.Sink(smtp_port)
    site = signing.Site(database_url=database_url, smtp_port=smtp_port, web_workers=args.web_workers)
    site.env["PUBLICATION_INTERVAL"] = str(interval)
    try:
        site.start()
        site.raise_rate_limits()
        result = asyncio.run(signing.drive(site, sink, signings=args.signings,
                                           concurrency=args.concurrency, time_limit=args.time_limit))
        result["batch_seconds"] = None
        if interval:
            start = time.perf_counter()
            out = site.manage_shell("from undersigned.ledger.publish import publish_pending\nprint(publish_pending())")
            result["batch_seconds"] = time.perf_counter() - start
            result["batch_entries"] = int(out.strip().splitlines()[-1])
        result["public_total"] = signing.public_total(site)
    finally:
        site.stop()
        sink.stop()
        if postgres_name:
            signing.drop_postgres_database(base_postgres_url, postgres_name)
    return result


def summary(label: str, result: dict) -> tuple[str, float]:
    done = len(result["latencies"])
    rate = done / result["elapsed"] if result["elapsed"] else 0.0
    p50 = signing.percentile(result["latencies"], 0.5) * 1000 if done else 0
    p99 = signing.percentile(result["latencies"], 0.99) * 1000 if done else 0
    line = (f"  {label:<28} {rate:7.1f} signings/s  p50 {p50:5.0f} ms  p99 {p99:5.0f} ms  "
            f"({done} confirmed, {len(result['failures'])} failed, public count {result['public_total']}"
            f"{'' if result['public_total'] == done else ' ≠ confirmed!'})")
    if result.get("batch_seconds") is not None:
        line += f"\n  {'':<28} then one batch of {result['batch_entries']} entries in {result['batch_seconds']:.1f} s (incl. process start)"
    return line, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.getenv("UNDERSIGNED_TEST_POSTGRES_URL", ""), help="PostgreSQL server URL (a fresh database is created and dropped).")
    parser.add_argument("--signings", type=int, default=1500, help="Complete signings per run (default 1500).")
    parser.add_argument("--concurrency", type=int, default=64, help="Concurrent clients (default 64).")
    parser.add_argument("--web-workers", type=int, default=None, help="gunicorn processes (default: serve's own).")
    parser.add_argument("--time-limit", type=float, default=600, help="Stop driving after this many seconds per run.")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="Run one database only.")
    args = parser.parse_args()
    engines = [args.only] if args.only else ["sqlite"] + (["postgresql"] if args.postgres else [])
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    lines = []
    for engine in engines:
        with_line, with_rate = summary("with the log (interval 0)", run(engine, args.postgres, 0, args))
        without_line, without_rate = summary("without (one batch after)", run(engine, args.postgres, 3600, args))
        ratio = with_rate / without_rate if without_rate else 0.0
        lines += [f"{engine}:", with_line, without_line, f"  ratio with/without: {ratio:.2f}"]
        print("\n".join(lines[-4:]), flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
