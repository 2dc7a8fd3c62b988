"""Run the simulated systems described by a JSON file (seed_demo writes var/simulator.json)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
import time
from pathlib import Path

from .pull import PullDevice
from .push import PushSystem
from .store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="var/simulator.json")
    parser.add_argument("--portal", help="the portal's base URL (overrides the file's)")
    args = parser.parse_args()
    path = Path(args.config)
    for _ in range(60):
        if path.exists():
            break
        time.sleep(1)
    config = json.loads(path.read_text())
    if args.portal:
        config["portal"] = args.portal
    folder = path.parent / "simulator"
    folder.mkdir(parents=True, exist_ok=True)
    running = []
    for spec in config["systems"]:
        store = Store(folder / f"system-{spec['system_id']}.sqlite3", spec.get("keys", []))
        if spec["kind"] == "push":
            system = PushSystem(
                system_id=spec["system_id"],
                secret=spec["secret"],
                store=store,
                port=spec["port"],
                mode=spec.get("mode", "sync"),
                failure_rate=spec.get("failure_rate", 0.0),
                portal_url=config["portal"],
            ).online()
            print(f"push system {spec['system_id']} ({spec['name']}) listening on {system.url}", flush=True)
        else:
            system = PullDevice(
                system_id=spec["system_id"],
                token=spec["token"],
                store=store,
                portal_url=config["portal"],
                poll_seconds=spec.get("poll_seconds", 3),
            ).start()
            print(f"pull device {spec['system_id']} ({spec['name']}) polling {config['portal']}", flush=True)
        running.append(system)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    main()
