"""The log export (``export_format.md``): every entry and tree head of one letter's log, gzip JSON Lines."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

from undersigned.ledger import keys as instance_keys
from undersigned.ledger.models import InstanceKey, LetterLog, LogEntry, TreeHeadRecord
from undersigned.ledger.publish import letter_log, publish_pending
from undersigned.lib import treehead
from undersigned.lib.blindrsa import b64u_encode
from undersigned.lib.canonical import canonical_json

CHUNK_ROWS = 2000


def tree_head_json(record: TreeHeadRecord, state: LetterLog) -> dict:
    return {
        "key_id": record.key_id,
        "signature": b64u_encode(bytes(record.signature)),
        "tree_head": treehead.TreeHead(state.identifier, record.tree_size, bytes(record.root_hash), record.timestamp).to_dict(),
    }


def public_key_json() -> dict:
    key = instance_keys.current_key()
    return {
        "algorithm": "Ed25519",
        "public_key": b64u_encode(bytes(key.public_key)),
        "key_id": key.key_id,
        "key_rotations": instance_keys.rotations(),
        "retired_keys": [
            {"public_key": b64u_encode(bytes(k.public_key)), "key_id": k.key_id}
            for k in InstanceKey.objects.filter(retired=True).order_by("id")
        ],
    }


def export_lines(letter) -> Iterator[bytes]:
    """The export's lines, each ending in ``\\n``, read from the database in chunks."""
    state = letter_log(letter)
    if not TreeHeadRecord.objects.filter(log=state).exists():
        publish_pending(letter)  # a new log gets its first (possibly empty) signed tree head
    heads = list(TreeHeadRecord.objects.filter(log=state).order_by("tree_size"))
    size = heads[-1].tree_size if heads else 0  # entries after the last head wait for the next one
    key = instance_keys.current_key()
    header = {
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": "undersigned-log",
        "key_rotations": instance_keys.rotations(),
        "kind": "header",
        "letter": letter.slug,
        "log_id": state.identifier,
        "log_key": b64u_encode(bytes(key.public_key)),
        "version": 1,
    }
    yield canonical_json(header) + b"\n"
    head_at = 0

    def heads_of(count: int) -> Iterator[bytes]:
        nonlocal head_at
        while head_at < len(heads) and heads[head_at].tree_size == count:
            yield canonical_json({"kind": "tree_head", **tree_head_json(heads[head_at], state)}) + b"\n"
            head_at += 1

    yield from heads_of(0)
    start = 0
    while start < size:
        rows = LogEntry.objects.filter(log=state, index__gte=start, index__lt=min(size, start + CHUNK_ROWS)).order_by("index")
        for index, data in rows.values_list("index", "data"):
            yield bytes(data) + b"\n"
            yield from heads_of(index + 1)
        start += CHUNK_ROWS
    yield canonical_json({"entries": size, "kind": "end", "tree_heads": len(heads)}) + b"\n"


def gzip_chunks(lines: Iterator[bytes], level: int = 6) -> Iterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    buffer = []
    buffered = 0
    for line in lines:
        buffer.append(line)
        buffered += len(line)
        if buffered >= 1 << 16:
            chunk = compressor.compress(b"".join(buffer))
            buffer, buffered = [], 0
            if chunk:
                yield chunk
    yield compressor.compress(b"".join(buffer)) + compressor.flush()


def write_export(letter, fileobj) -> int:
    written = 0
    for chunk in gzip_chunks(export_lines(letter)):
        fileobj.write(chunk)
        written += len(chunk)
    return written
