"""The example fleet's one-shot task: applies the (simulated) schema migrations, then exits (stdlib only).

A oneshot in manifest.json ("type": "oneshot"): it runs to completion before the services that depend on
it start; exit 0 means success. Nothing is contacted: the migrations are printed, not applied.

  SERVICE_NAME        the service's name (default "db_migrate")
  MIGRATIONS          how many migrations to "apply" (default 3)
  FAIL_AT             fail (exit 1) at this migration number, to see a failing oneshot keep its dependents stopped
"""
import os
import sys

NAME = os.environ.get("SERVICE_NAME") or "db_migrate"


def main():
    try:
        count = int(os.environ.get("MIGRATIONS") or 3)
        fail_at = int(os.environ.get("FAIL_AT") or 0)
    except ValueError:
        print(f"{NAME}: expected MIGRATIONS and FAIL_AT to be whole numbers, found "
              f"{os.environ.get('MIGRATIONS')!r}, {os.environ.get('FAIL_AT')!r}", file=sys.stderr, flush=True)
        sys.exit(2)
    for number in range(1, count + 1):
        if number == fail_at:
            print(f"{NAME}: migration {number:04d} failed (FAIL_AT={fail_at})", file=sys.stderr, flush=True)
            sys.exit(1)
        print(f"{NAME}: applied migration {number:04d}", flush=True)
    print(f"{NAME}: schema up to date ({count} migrations)", flush=True)


if __name__ == "__main__":
    main()
