"""A small real HTTP service of the example fleet (stdlib only, Python 3.8+).

One script serves most services of manifest.json; the identity comes from the environment that
orchestrate gives every program:

  SERVICE_NAME  the service's name (fallback: the first argument, then "http_service")
  PORT          the port to bind (required: a service never picks its own port)
  HOST          the address to bind (default 127.0.0.1)
  HEALTH_PATH   the health path (default /health)

GET /health answers 200 {"service": NAME, "status": "ok"}; GET / answers a short JSON.
SIGTERM and SIGINT close the listener and exit 0 within a second.
"""
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("SERVICE_NAME") or (sys.argv[1] if len(sys.argv) > 1 else "http_service")
HOST = os.environ.get("HOST") or "127.0.0.1"
HEALTH_PATH = os.environ.get("HEALTH_PATH") or "/health"
STARTED = time.time()


def read_port():
    """PORT from the environment, or exit 2 saying what is missing and how to fix it."""
    text = os.environ.get("PORT", "")
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        print(f"{NAME}: expected PORT=1-65535 in the environment, found {text!r}; "
              f"run it through orchestrate (test-start {NAME}) or set PORT", file=sys.stderr, flush=True)
        sys.exit(2)
    return int(text)


class Handler(BaseHTTPRequestHandler):
    server_version = "recio-example/1"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == HEALTH_PATH:
            self.reply(200, {"service": NAME, "status": "ok"})
        elif path == "/":
            self.reply(200, {"service": NAME, "port": self.server.server_address[1], "pid": os.getpid(),
                             "uptime_s": round(time.time() - STARTED, 1)})
        else:
            self.reply(404, {"service": NAME, "error": f"no route {path}"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """No access log: verify polls /health often and would fill logs/NAME.err.log."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET6 if ":" in HOST else socket.AF_INET


def main():
    port = read_port()
    try:
        server = Server((HOST, port), Handler)
    except OSError as error:
        print(f"{NAME}: cannot bind {HOST}:{port}: {error.strerror}", file=sys.stderr, flush=True)
        sys.exit(1)

    def stop(signum, frame):
        # shutdown() blocks until serve_forever() returns, so it must run outside the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    print(f"{NAME} listening on {HOST}:{port}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    print(f"{NAME} stopped", flush=True)


if __name__ == "__main__":
    main()
