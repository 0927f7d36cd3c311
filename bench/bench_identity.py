"""Content identity of a checkpoint (what the stage cache keys on) vs reading the same bytes with `cat`.

Identity by content costs one streamed read of every weight file; this measures how close that
read is to the disk's own speed (`cat FILES > /dev/null`, the floor any content hash pays), and
that a second look at unchanged files costs only a `stat` (the cache by path, size, mtime, ctime
and inode). A sha256 pass over the same bytes shows what the hash choice saves.

    .venv/bin/python -m bench.bench_identity [--gb 1.0]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import save_results


def make_checkpoint(folder: Path, gigabytes: float) -> list[Path]:
    """Random bytes in 400 MB shards, named like a sharded checkpoint (content is all the hash sees)."""
    folder.mkdir(parents=True, exist_ok=True)
    remaining = int(gigabytes * 1e9)
    files = []
    index = 1
    while remaining > 0:
        size = min(remaining, 400_000_000)
        path = folder / f"model-{index:05d}.safetensors"
        with open(path, "wb") as handle:
            left = size
            while left:
                chunk = os.urandom(min(left, 1 << 24))
                handle.write(chunk)
                left -= len(chunk)
        files.append(path)
        remaining -= size
        index += 1
    (folder / "config.json").write_text("{}")
    return files


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0)
    args = parser.parse_args()
    from tools.content_hash import HashCache, content_digest

    with tempfile.TemporaryDirectory(prefix="bench-identity-") as tmp:
        folder = Path(tmp) / "model"
        files = make_checkpoint(folder, args.gb)
        subprocess.run(["sync"], check=False)
        total = sum(f.stat().st_size for f in files)
        # Warm the page cache once so every side reads from the same place (memory), fairly.
        subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
        cat = min(
            timed(lambda: subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True))
            for _ in range(3)
        )

        def sha256_all() -> None:
            for f in files:
                digest = hashlib.sha256()
                with open(f, "rb") as handle:
                    for block in iter(lambda h=handle: h.read(8 << 20), b""):
                        digest.update(block)

        sha = min(timed(sha256_all) for _ in range(2))
        cold = []
        for _ in range(3):
            cache = HashCache(Path(tmp) / f"cache-{len(cold)}.json")
            from tools import content_hash

            content_hash._memory.clear()
            cold.append(timed(lambda c=cache: content_digest(folder, c)))
            cache.save()
        cached_cache = HashCache(Path(tmp) / "cache-0.json")
        content_hash._memory.clear()
        warm = min(timed(lambda: content_digest(folder, cached_cache)) for _ in range(5))
    cold_best = min(cold)
    result = {
        "bytes": total,
        "cat_seconds": round(cat, 4),
        "identity_cold_seconds": round(cold_best, 4),
        "identity_cached_seconds": round(warm, 6),
        "sha256_seconds": round(sha, 4),
        "ratio_identity_vs_cat": round(cold_best / cat, 2),
        "ratio_sha256_vs_cat": round(sha / cat, 2),
        "identity_GBps": round(total / cold_best / 1e9, 2),
    }
    print(
        f"{total / 1e9:.2f} GB (page cache warm): cat {cat:.3f} s, identity {cold_best:.3f} s "
        f"({result['ratio_identity_vs_cat']}× cat, {result['identity_GBps']} GB/s), cached {warm * 1e3:.2f} ms, "
        f"sha256 {sha:.3f} s ({result['ratio_sha256_vs_cat']}× cat)"
    )
    save_results("identity", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
