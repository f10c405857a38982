"""Benchmark: the auditor's core on a generated log of N verified signatures (default 1,000,000).

    uv run python bench/audit.py [--signatures N] [--workers W] [--generate-only]

Generates the export once (cached in bench/out/, with a sidecar JSON of the expected counts and the
instance key; a child process at lower priority signs with W worker processes), then audits it in this
process on one core and prints the time next to ``openssl speed -seconds 3 rsa2048`` verify/s measured
in the same run: verifying the tokens is the floor (N / OpenSSL's verify rate). It also times the
auditor's calls of ``cryptography``'s verify, to split the audit's time.

Every figure is processor time (``time.process_time``), which the goal (under 60 s on one core) is about:
the machine is shared, and wall time there also counts the time other processes had the core.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from undersigned.lib import merkle
from undersigned.lib.blindrsa import b64u_decode, b64u_encode
from undersigned.lib.treehead import public_key_bytes
from undersigned.ledger import audit as audit_module
from undersigned.ledger.audit import audit_file, read_export_lines
from undersigned.ledger.synthetic import SyntheticLog

OUT = Path(__file__).resolve().parent / "out"
NICENESS = 10  # for generating only


def openssl_rsa2048() -> tuple[float, float]:
    """(sign/s, verify/s) from ``openssl speed -seconds 3 rsa2048``."""
    result = subprocess.run(["openssl", "speed", "-seconds", "3", "rsa2048"], capture_output=True, text=True, check=True)
    match = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", result.stdout, re.M)
    if not match:
        raise SystemExit(f"cannot read openssl speed output:\n{result.stdout}")
    return float(match.group(1)), float(match.group(2))


class VerifyClock:
    """Times, in processor time, the auditor's verification of each block's tokens (``audit._verify_block``,
    the calls of ``cryptography``'s verify) while it runs, for the split between RSA and everything else:
    two clock readings a block of tokens."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0

    def __enter__(self) -> VerifyClock:
        self.verify_block = audit_module._verify_block

        def timed(prepared):
            start = time.process_time()
            try:
                return self.verify_block(prepared)
            finally:
                self.seconds += time.process_time() - start
                self.calls += sum(item is not None for item in prepared)

        audit_module._verify_block = timed
        return self

    def __exit__(self, *exc) -> None:
        audit_module._verify_block = self.verify_block


def generate(n: int, workers: int) -> tuple[Path, dict]:
    """The cached export of ``n`` verified signatures and its sidecar (expected counts, instance key)."""
    OUT.mkdir(parents=True, exist_ok=True)
    # "v2": token messages as in verification/protocol.md (older cached files are regenerated).
    path = OUT / f"audit-v2-{n}.jsonl.gz"
    meta_path = OUT / f"audit-v2-{n}.json"
    if not (path.exists() and meta_path.exists()):
        # In a child process at lower priority (its workers inherit it): the machine is shared, and the
        # audit below then starts in a process without the generator's memory.
        child = multiprocessing.get_context("fork").Process(target=_write_export, args=(n, workers, path, meta_path))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"generating the export failed (exit code {child.exitcode})")
    return path, json.loads(meta_path.read_text())


def _write_export(n: int, workers: int, path: Path, meta_path: Path) -> None:
    os.nice(NICENESS)
    print(f"generating {n:,} verified signatures with {workers} process(es), nice {NICENESS} → {path} …", flush=True)
    start = time.perf_counter()
    log = SyntheticLog(
        n_verified=n, n_self_reported=n // 20, n_withdrawals=100, n_invalidated=50, batch_size=1000, seed=1, workers=workers
    )
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wb", compresslevel=6) as f:
        for i, line in enumerate(log.lines()):
            f.write(line)
            if i % 100_000 == 0 and i:
                print(f"  {i:,} lines, {time.perf_counter() - start:.0f} s", flush=True)
    tmp.rename(path)
    meta = {
        "expected": log.expected,
        "log_key": b64u_encode(public_key_bytes(log.log_key)),
        "tree_heads": len(log.tree_heads),
        "generated_in_s": round(time.perf_counter() - start),
        "workers": workers,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    print(f"generated in {meta['generated_in_s']} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=1_000_000, help="verified signatures in the log")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for generating only")
    parser.add_argument("--generate-only", action="store_true", help="make the cached export and stop")
    args = parser.parse_args()

    path, meta = generate(args.signatures, args.workers)
    if args.generate_only:
        return
    if "generated_in_s" in meta:
        print(f"export generated in {meta['generated_in_s']} s with {meta['workers']} process(es)")
    sign_rate, verify_rate = openssl_rsa2048()

    start = time.process_time()
    with open(path, "rb") as f:
        lines = sum(1 for _ in read_export_lines(f))
    read_s = time.process_time() - start
    hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(args.signatures)]
    start = time.process_time()
    merkle.root(hashes)
    root_s = time.process_time() - start
    del hashes

    start, cpu = time.perf_counter(), time.process_time()
    with VerifyClock() as clock:
        report = audit_file(path, trusted_key=b64u_decode(meta["log_key"]))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    sign_rate2, verify_rate2 = openssl_rsa2048()

    counts = report.to_dict()["counts"]
    expected = dict(meta["expected"])
    entries = expected.pop("entries")
    ok = report.ok and counts == expected and report.entries == entries
    floor = report.tokens_verified / max(verify_rate, verify_rate2)
    print()
    print(f"log: {report.entries:,} entries ({report.tokens_verified:,} verified tokens), {report.tree_heads:,} tree heads, "
          f"{path.stat().st_size / 1e6:.0f} MB gzip, {lines:,} lines")
    print(f"audit result: {'OK' if ok else 'FAILED'}  ({report.failure_count} failures)")
    for failure in report.failures[:5]:
        print("  ", failure)
    print(f"decompress and split lines only: {read_s:6.1f} s CPU")
    print(f"Merkle root of {args.signatures:,} leaf hashes: {root_s:6.1f} s CPU")
    print(f"audit, one core:                {cpu:6.1f} s CPU ({wall:.1f} s wall)  "
          f"({report.entries / cpu:,.0f} entries/s, {report.tokens_verified / cpu:,.0f} tokens/s)")
    print(f"  of which cryptography's RSA-PSS verify: {clock.seconds:.1f} s ({clock.seconds / max(clock.calls, 1) * 1e6:.1f} µs a token); "
          f"everything else {cpu - clock.seconds:.1f} s ({(cpu - clock.seconds) / report.entries * 1e6:.1f} µs an entry, "
          f"{(cpu - clock.seconds) / clock.seconds:.2f} of the verify time: the machine's speed varies by the minute, "
          "this ratio much less)")
    print(f"openssl speed rsa2048 (same run): {verify_rate:,.0f} verify/s before, {verify_rate2:,.0f} after "
          f"({sign_rate:,.0f} / {sign_rate2:,.0f} sign/s)")
    print(f"implied floor (tokens / best openssl verify/s): {floor:.1f} s → audit is {cpu / floor:.2f}x the floor")
    print(f"goal: under 60 s of CPU on one core → {'met' if cpu < 60 else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
