"""Why the embedded store scans vectors with NumPy rather than sqlite-vec: exact top-100 latency.

    .venv/bin/python bench/retrieval_store_choice.py [--sizes 5000,50000,200000]

Both are exact (brute force) over random 384-d unit vectors kept in SQLite; NumPy holds the
corpus matrix in memory (loaded once per corpus version) and runs one single-threaded
matrix-vector product, sqlite-vec scans its ``vec0`` virtual table inside SQLite.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlite_vec
from threadpoolctl import ThreadpoolController

DIM = 384


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,50000,200000")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    blas = ThreadpoolController()
    print(f"{'vectors':>8} {'numpy p50':>10} {'sqlite-vec p50':>15} {'same top-100':>13}")
    for n in (int(s) for s in args.sizes.split(",")):
        vecs = rng.standard_normal((n, DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        queries = vecs[rng.integers(0, n, size=args.queries)] + 0.1 * rng.standard_normal((args.queries, DIM)).astype(
            np.float32
        )
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(Path(tmp) / "v.db")
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{DIM}] distance_metric=cosine)")
            conn.executemany(
                "INSERT INTO v(rowid, embedding) VALUES (?, ?)", ((i, vecs[i].tobytes()) for i in range(n))
            )
            conn.commit()
            np_ms, vec_ms, same = [], [], 0
            for q in queries:
                t = time.perf_counter()
                with blas.limit(limits=1, user_api="blas"):
                    scores = vecs @ q
                top = np.argpartition(-scores, 99)[:100]
                np_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                rows = conn.execute(
                    "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 100 ORDER BY distance", (q.tobytes(),)
                ).fetchall()
                vec_ms.append((time.perf_counter() - t) * 1000)
                same += set(top.tolist()) == {r[0] for r in rows}
            conn.close()
        print(f"{n:>8} {np.median(np_ms):>8.2f}ms {np.median(vec_ms):>13.2f}ms {same:>6}/{len(queries)}")


if __name__ == "__main__":
    main()
