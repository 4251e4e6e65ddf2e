/**
 * Python source of units/port_config.py with `@@NAME@@` placeholders that ./port-config-py.ts fills with
 * Python literals. Kept apart so the renderer reads as TypeScript. Targets Python 3.5+ (no f-strings).
 */
export const PORT_CONFIG_TEMPLATE = `"""Ports of project @@PROJECT_NAME@@. @@NOTE@@.

Regenerate with \`orchestrate generate\`; the manifest (path in MANIFEST) is the only source of truth.
Standard library only; nothing is read at import.

Use it from service code instead of a hand-kept table, by changing one import:

    from units.port_config import get_port     # when the project folder is on sys.path
    from port_config import get_port           # when units/ is on PYTHONPATH

    port = get_port("trade_executor")          # int; raises instead of guessing
    ports = get_ports("users_api")             # [int, ...]: every instance, instance 0 first

Same meaning as the old backend.core.port_config, except that an unknown name raises
UnknownServiceError (a KeyError) naming the closest known names instead of returning 3000, and a
worker (a service without a port) raises NoPortError (a LookupError).

get_host() is ORCHESTRATE_HOST or TRADING_SYSTEM_HOST from the environment when set, else the
manifest's host. HOST is not read: shells set it to the machine name and servers to a bind address.

Run \`python3 port_config.py [NAME]\` to print every port as JSON, or the port of NAME.
"""
import difflib
import os

__all__ = [
    "get_port",
    "get_ports",
    "list_all_ports",
    "get_service_url",
    "get_port_info",
    "get_host",
    "get_service_info",
    "UnknownServiceError",
    "NoPortError",
    "PROJECT",
    "MANIFEST",
]

PROJECT = @@PROJECT@@
MANIFEST = @@MANIFEST@@
DEFAULT_HOST = @@DEFAULT_HOST@@

# Every service of the manifest, in manifest order; a worker has port None.
SERVICES = @@SERVICES@@

# Ports owned by things this project does not run; get_port and get_service_url accept these names too.
EXTERNAL = @@EXTERNAL@@


class UnknownServiceError(KeyError):
    """A name that is neither a service nor an external of the manifest."""

    def __init__(self, name):
        self.service = name
        self.suggestions = difflib.get_close_matches(str(name), list(SERVICES) + list(EXTERNAL), n=3)
        message = "unknown service %r in project %s" % (name, PROJECT)
        if self.suggestions:
            message += "; did you mean %s?" % " or ".join(repr(s) for s in self.suggestions)
        else:
            message += "; known: %s" % (", ".join(sorted(SERVICES)) or "none")
        self.message = message
        KeyError.__init__(self, message)

    def __str__(self):
        return self.message


class NoPortError(LookupError):
    """A service without a port (a worker)."""

    def __init__(self, name):
        self.service = name
        self.message = "service %r has no port: it is a worker (give it a port in %s to call it)" % (name, MANIFEST)
        LookupError.__init__(self, self.message)

    def __str__(self):
        return self.message


def _entry(service_name):
    if service_name in SERVICES:
        return SERVICES[service_name]
    if service_name in EXTERNAL:
        return EXTERNAL[service_name]
    raise UnknownServiceError(service_name)


def _url(host, port):
    if ":" in host and not host.startswith("["):
        host = "[" + host + "]"
    return "http://%s:%d" % (host, port)


def get_host():
    """Host used in service URLs: $ORCHESTRATE_HOST, else $TRADING_SYSTEM_HOST, else the manifest's host."""
    for variable in ("ORCHESTRATE_HOST", "TRADING_SYSTEM_HOST"):
        value = os.environ.get(variable)
        if value:
            return value
    return DEFAULT_HOST


def get_port(service_name):
    """Port of a service (or external) of the manifest, as an int (instance 0's; get_ports gives all).

    Raises UnknownServiceError (KeyError) for an unknown name, NoPortError (LookupError) for a worker.
    """
    port = _entry(service_name)["port"]
    if port is None:
        raise NoPortError(service_name)
    return port


def get_ports(service_name):
    """Ports of every instance of a service, instance 0 first, as a new list of ints ([port] for a
    service with one instance, or an external).

    Raises UnknownServiceError (KeyError) for an unknown name, NoPortError (LookupError) for a worker.
    """
    entry = _entry(service_name)
    if entry["port"] is None:
        raise NoPortError(service_name)
    return list(entry.get("ports") or [entry["port"]])


def list_all_ports():
    """Every service that has a port (enabled or not), name -> port, in manifest order. A new dict."""
    return dict((name, s["port"]) for name, s in SERVICES.items() if s["port"] is not None)


def get_service_url(service_name, endpoint=""):
    """URL of a service: http://HOST:PORT followed by endpoint ("/" added when it lacks one)."""
    entry = _entry(service_name)
    port = get_port(service_name)
    if endpoint and endpoint[0] not in "/?#":
        endpoint = "/" + endpoint
    return _url(entry.get("host") or get_host(), port) + endpoint


def get_port_info():
    """Everything at once: ports, service_urls, config_file, host (as before) plus project and external."""
    ports = list_all_ports()
    host = get_host()
    return {
        "ports": ports,
        "service_urls": dict((name, _url(host, port)) for name, port in ports.items()),
        "config_file": MANIFEST,
        "host": host,
        "project": PROJECT,
        "external": dict((name, e["port"]) for name, e in EXTERNAL.items()),
    }


def get_service_info(service_name):
    """A copy of a service's or external's entry: port (None for a worker), description, and for a
    service group, enabled, technology."""
    return dict(_entry(service_name))


if __name__ == "__main__":
    import json
    import sys

    if len(sys.argv) > 1:
        try:
            print(get_port(sys.argv[1]))
        except LookupError as error:
            sys.exit(str(error))
    else:
        print(json.dumps(get_port_info(), indent=2, ensure_ascii=False))
`;
