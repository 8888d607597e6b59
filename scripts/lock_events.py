"""Add the current event schema to the schema lock (src/goalflow/domain/events.lock.json).

Run after giving an event a new class_version (README, "Changing an event"). It only adds:
a version already locked is never rewritten, and if the code's fields for a locked
version differ from the lock, it refuses and says to bump the version instead.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import orjson

from goalflow.domain.schema import stored_types

LOCK = Path(__file__).resolve().parent.parent / "src" / "goalflow" / "domain" / "events.lock.json"


def main() -> int:
    lock = orjson.loads(LOCK.read_bytes())
    added = []
    for name, (topic, class_version, fields) in stored_types().items():
        entry = lock["types"].setdefault(name, {"topic": topic, "versions": {}})
        locked = entry["versions"].get(str(class_version))
        if locked is None:
            entry["versions"][str(class_version)] = {"since": version("goalflow"),
                                                     "fields": fields}
            added.append(f"{name} v{class_version}")
        elif locked["fields"] != fields:
            print(f"{name} v{class_version} is locked with other fields: never change a stored"
                  f" version; give {name} class_version {class_version + 1} and an upcaster",
                  file=sys.stderr)
            return 1
    if added:
        lock["events_schema"] += 1
        LOCK.write_bytes(orjson.dumps(lock, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"locked {', '.join(added)} as event schema {lock['events_schema']}; set"
              f" EVENTS_SCHEMA in src/goalflow/persistence/formats.py to it")
    else:
        print("the lock is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
