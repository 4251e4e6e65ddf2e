"""A worker of the example fleet: no port, prints a heartbeat every few seconds (stdlib only).

Usage: worker.py SYMBOL   (e.g. BTC, ETH: the symbol whose price it "watches")

  SERVICE_NAME       the service's name (default "worker")
  HEARTBEAT_SECONDS  seconds between heartbeats (default 5)

SIGTERM and SIGINT end it with exit 0 within a second.
"""
import os
import signal
import sys
import threading

NAME = os.environ.get("SERVICE_NAME") or "worker"
SYMBOL = sys.argv[1] if len(sys.argv) > 1 else "BTC"


def main():
    try:
        interval = float(os.environ.get("HEARTBEAT_SECONDS") or 5)
    except ValueError:
        print(f"{NAME}: expected HEARTBEAT_SECONDS to be a number of seconds, found "
              f"{os.environ['HEARTBEAT_SECONDS']!r}", file=sys.stderr, flush=True)
        sys.exit(2)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())

    print(f"{NAME} started: watching {SYMBOL}, heartbeat every {interval:g}s", flush=True)
    beats = 0
    while not stop.wait(interval):
        beats += 1
        print(f"{NAME} heartbeat {beats} symbol={SYMBOL}", flush=True)
    print(f"{NAME} stopped after {beats} heartbeats", flush=True)


if __name__ == "__main__":
    main()
