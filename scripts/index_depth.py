#!/usr/bin/env python3
"""The levels of the readings' (sensor, id) index as a soak's rows fill it.

Rows of SENSORS interleaved sensors (as `wallwatch bench soak` makes them), in transactions of
16,384, into the store's readings table and index (schema of src/store/sqlite.rs); after each
size, the index's levels and interior pages, from SQLite's dbstat table.

    python3 scripts/index_depth.py [ROWS] [SENSORS]     # defaults 14,000,000 and 1,000
"""
import os
import sqlite3
import sys
import tempfile

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 14_000_000
SENSORS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
BATCH = 16384

with tempfile.TemporaryDirectory() as tmp:
    db = sqlite3.connect(os.path.join(tmp, "depth.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL,"
        " sensor TEXT NOT NULL, value INTEGER NOT NULL, agent TEXT, seq INTEGER, stored_at TEXT)"
    )
    db.execute("CREATE INDEX readings_sensor_id ON readings (sensor, id)")
    at = "2026-12-08T02:43:53.063036Z"
    done, report = 0, 500_000
    while done < ROWS:
        rows = [
            (i, at, f"sensor-{i % SENSORS + 1}", i % 201 - 100, at)
            for i in range(done + 1, done + BATCH + 1)
        ]
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO readings (id, timestamp, sensor, value, stored_at) VALUES (?,?,?,?,?)",
            rows,
        )
        db.execute("COMMIT")
        done += BATCH
        if done >= report:
            levels, interior = db.execute(
                "SELECT max(length(path) - length(replace(path, '/', ''))),"
                " sum(pagetype = 'internal') FROM dbstat WHERE name = 'readings_sensor_id'"
            ).fetchone()
            print(f"{done:>12,} rows: {levels} levels, {interior:,} interior pages", flush=True)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            report = report * 2 if report < 4_000_000 else report + 2_000_000
