"""A simulated system's own record: who is enrolled (and restricted), and every instruction it carried out."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path


class Store:
    def __init__(self, path: str | Path, keys: list[str] = ()):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS enrolled (subject_key TEXT PRIMARY KEY)")
        self._db.execute("CREATE TABLE IF NOT EXISTS restricted (subject_key TEXT PRIMARY KEY)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS effects (instruction_id TEXT PRIMARY KEY, subject_key TEXT, outcome TEXT, at REAL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY, instruction_id TEXT, at REAL)")
        if keys:
            with self._lock:
                self._db.executemany("INSERT OR IGNORE INTO enrolled VALUES (?)", [(k,) for k in keys])

    def apply(self, instruction_id: str, subject_key: str, action: str = "delete") -> tuple[str, dict]:
        """Carry out an instruction once: a repeated one has no second effect and gets the first answer.

        delete removes the enrolment; restrict keeps it and marks it unusable; lift_restriction
        removes the mark. A key the system does not hold is not_found, whatever the action.
        """
        with self._lock:
            self._db.execute("INSERT INTO deliveries (instruction_id, at) VALUES (?, ?)", (instruction_id, time.time()))
            row = self._db.execute("SELECT outcome FROM effects WHERE instruction_id = ?", (instruction_id,)).fetchone()
            if row:
                return row[0], {"log_id": instruction_id, "repeated": True}
            held = self._db.execute("SELECT 1 FROM enrolled WHERE subject_key = ?", (subject_key,)).fetchone()
            removed = 0
            if not held:
                outcome = "not_found"
            elif action == "restrict":
                self._db.execute("INSERT OR IGNORE INTO restricted VALUES (?)", (subject_key,))
                outcome = "restricted"
            elif action == "lift_restriction":
                self._db.execute("DELETE FROM restricted WHERE subject_key = ?", (subject_key,))
                outcome = "lifted"
            else:
                removed = self._db.execute("DELETE FROM enrolled WHERE subject_key = ?", (subject_key,)).rowcount
                self._db.execute("DELETE FROM restricted WHERE subject_key = ?", (subject_key,))
                outcome = "deleted"
            self._db.execute(
                "INSERT INTO effects VALUES (?, ?, ?, ?)", (instruction_id, subject_key, outcome, time.time())
            )
            return outcome, {"log_id": instruction_id, "records_removed": removed}

    def enrol(self, subject_key: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO enrolled VALUES (?)", (subject_key,))

    def delete_keys(self, keys: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM enrolled WHERE subject_key = ?", [(k,) for k in keys])

    def is_restricted(self, subject_key: str) -> bool:
        with self._lock:
            return bool(self._db.execute("SELECT 1 FROM restricted WHERE subject_key = ?", (subject_key,)).fetchone())

    def inventory(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT subject_key FROM enrolled")]

    def effects(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self._db.execute("SELECT instruction_id, subject_key, outcome FROM effects"))

    def close(self) -> None:
        self._db.close()
