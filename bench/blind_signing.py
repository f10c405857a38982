"""Blind signatures per second on one core, next to OpenSSL's RSA-2048 sign/s measured in the same run.

    uv run python bench/blind_signing.py [--runs 5] [--seconds 2] [--bits 2048]

Our figure is undersigned.lib.blindrsa.blind_sign (CRT with GMP's constant-time powmod_sec on each
half, plus the RFC 9474 check s^e mod n == m) on random blinded messages; the reference is
`openssl speed -seconds 3 rsa2048` (OpenSSL's own constant-time CRT signing, no Python around it).
The goal (issue 3) is at least 0.3 of OpenSSL's sign/s. Verification (what an auditor recomputes for
every token) is reported next to OpenSSL's verify/s. The process and openssl are pinned to one core.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import gmpy2  # noqa: E402

from undersigned.lib import blindrsa  # noqa: E402


def rate(fn, items, seconds: float) -> float:
    """Calls per second of fn over the items (cycled) for about `seconds`."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for item in items:
            fn(item)
        count += len(items)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def median_rate(fn, items, runs: int, seconds: float) -> tuple[float, list[float]]:
    rates = [rate(fn, items, seconds) for _ in range(runs)]
    return statistics.median(rates), rates


def openssl_speed(bits: int) -> tuple[float, float, str]:
    """(sign/s, verify/s, version) from `openssl speed -seconds 3 rsaBITS`."""
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "3", f"rsa{bits}"],
        capture_output=True, text=True, check=True,
    ).stdout
    header = data = None
    for line in out.splitlines():
        if "sign/s" in line and "verify/s" in line:
            header = line.split()
        match = re.match(rf"^rsa\s+{bits}\s+bits\s+(.*)$", line.strip())
        if match:
            data = match.group(1).split()
    if header is None or data is None or len(header) != len(data):
        raise SystemExit(f"could not parse openssl speed output:\n{out}")
    return float(data[header.index("sign/s")]), float(data[header.index("verify/s")]), version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed run")
    parser.add_argument("--bits", type=int, default=2048, help="RSA modulus size")
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: the first allowed)")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})  # openssl inherits it

    key = blindrsa.generate_private_key(args.bits)
    public_key = key.public_key()
    prepared = [blindrsa.prepare(os.urandom(32)) for _ in range(64)]
    blinded = []
    inverses = []
    for msg in prepared:
        b, inv = blindrsa.blind(public_key, msg)
        blinded.append(b)
        inverses.append(inv)
    signatures = [
        (msg, blindrsa.finalize(public_key, msg, blindrsa.blind_sign(key, b), inv))
        for msg, b, inv in zip(prepared, blinded, inverses)
    ]

    sign_rate, sign_runs = median_rate(lambda b: blindrsa.blind_sign(key, b), blinded, args.runs, args.seconds)
    verify_rate, verify_runs = median_rate(
        lambda pair: blindrsa.verify(public_key, pair[0], pair[1]) or sys.exit("verify failed"),
        signatures, args.runs, args.seconds,
    )
    # For the record: the same constant-time exponentiation without CRT (not used; 4x slower).
    numbers = key.private_numbers()
    d, n = gmpy2.mpz(numbers.d), gmpy2.mpz(numbers.public_numbers.n)
    ints = [gmpy2.mpz(int.from_bytes(b, "big")) for b in blinded[:8]]
    no_crt_rate, _ = median_rate(lambda m: gmpy2.powmod_sec(m, d, n), ints, 3, min(args.seconds, 1.0))

    ossl_sign, ossl_verify, version = openssl_speed(args.bits)

    ratio_sign = sign_rate / ossl_sign
    ratio_verify = verify_rate / ossl_verify
    print(f"RSA-{args.bits}, one core, median of {args.runs} runs of {args.seconds:g} s; {version}; "
          f"gmpy2 {gmpy2.version()} ({gmpy2.mp_version()})")
    print(f"{'':32} {'ours/s':>10} {'openssl/s':>10} {'ratio':>7}")
    print(f"{'blind_sign (CRT, powmod_sec)':32} {sign_rate:10.1f} {ossl_sign:10.1f} {ratio_sign:7.3f}")
    print(f"{'verify (cryptography, PSS)':32} {verify_rate:10.1f} {ossl_verify:10.1f} {ratio_verify:7.3f}")
    print(f"{'  (powmod_sec without CRT)':32} {no_crt_rate:10.1f}")
    print("blind_sign runs: " + ", ".join(f"{r:.1f}" for r in sign_runs))
    print("verify runs:     " + ", ".join(f"{r:.1f}" for r in verify_runs))
    print(f"goal blind_sign >= 0.3 x openssl sign/s: {'met' if ratio_sign >= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
