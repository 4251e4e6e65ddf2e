#!/usr/bin/python3
"""Oracle for the supervisord import (test/e2e/import-real.test.ts): supervisor's own ServerOptions loads
each configuration exactly as supervisord would, and every field of every process is printed.

stdin: a JSON list of {"path": CONF, "environ": {...}}; stdout: one JSON result per case,
{"ok": true, "processes": [...], "warnings": [...]} or {"ok": false, "error": "..."}.
Parse only: folders and users named by a config need not exist on this machine, so existing_directory,
existing_dirpath and name_to_uid are replaced (a user is reported by name). supervisord's environment is
exactly "environ" (os.environ is replaced). Exit 3 when the supervisor module is missing (never skip).
"""
import json
import os
import shlex
import signal
import sys

try:
    from supervisor import datatypes, options
    from supervisor.options import ServerOptions
    from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
except ImportError as exc:  # pragma: no cover
    sys.stderr.write("supervisor's python module is missing (apt-get install -y supervisor): %s\n" % exc)
    sys.exit(3)

datatypes.existing_dirpath = lambda v: v
options.existing_dirpath = lambda v: v
options.existing_directory = lambda v: v
options.name_to_uid = lambda v: v
options.colon_separated_user_group = lambda v: (0, 0)  # [unix_http_server] chown= of a user of that image


def restart(value):
    if value is RestartUnconditionally:
        return "true"
    if value is RestartWhenExitUnexpected:
        return "unexpected"
    return "false"


def logfile(value):
    if isinstance(value, type):
        return value.__name__.upper().replace("AUTOMATIC", "AUTO")
    return value


def process(config, group, kind):
    return {
        "kind": kind,
        "name": config.name,
        "group": group,
        "argv": shlex.split(config.command),
        "environment": config.environment or {},
        "directory": config.directory,
        "uid": config.uid,
        "umask": None if config.umask is None else oct(config.umask),
        "autostart": config.autostart,
        "autorestart": restart(config.autorestart),
        "exitcodes": list(config.exitcodes),
        "priority": config.priority,
        "startsecs": config.startsecs,
        "startretries": config.startretries,
        "stopsignal": signal.Signals(config.stopsignal).name[3:],
        "stopwaitsecs": config.stopwaitsecs,
        "stopasgroup": config.stopasgroup,
        "killasgroup": config.killasgroup,
        "redirect_stderr": config.redirect_stderr,
        "stdout_logfile": logfile(config.stdout_logfile),
        "stderr_logfile": logfile(config.stderr_logfile),
    }


def load(case):
    os.environ.clear()
    os.environ.update(case["environ"])
    o = ServerOptions()
    o.configfile = case["path"]
    try:
        o.process_config(do_usage=False)
    except Exception as error:  # supervisord refuses the file
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    out = []
    for group in o.process_group_configs:
        kind = {"ProcessGroupConfig": "program", "EventListenerPoolConfig": "eventlistener",
                "FastCGIGroupConfig": "fcgi-program"}.get(type(group).__name__, type(group).__name__)
        for config in group.process_configs:
            out.append(process(config, group.name, kind))
    return {"ok": True, "processes": out, "warnings": list(o.parse_warnings)}


json.dump([load(case) for case in json.load(sys.stdin)], sys.stdout, default=repr)
