#!/usr/bin/python3
"""The supervisord oracle: loads a config with supervisor's own parser, exactly as supervisord will
(docs/facts.md "supervisord: how a value is read"), and prints what supervisord would run, as JSON.

usage: supervisor_oracle.py CONF       print one JSON document
       supervisor_oracle.py --serve    read one CONF path per stdin line, answer one JSON line each

A document is {"ok": true, "supervisord": {...}, "supervisorctl": {"serverurl"}, "programs": [{name, argv, environment, directory, ...}],
"warnings": [...]} or {"ok": false, "error": "..."} for a config supervisord would refuse.
argv is shlex.split(command), as supervisor/process.py get_execv_args does.
Exit: 0 (or 3 when CONF is refused, single mode), 4 when the supervisor module cannot be imported.
Run with /usr/bin/python3: a pyenv python3 first on PATH lacks Debian's supervisor module.
"""
import json
import shlex
import signal
import sys

try:
    from supervisor.options import ClientOptions, ServerOptions
    from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
except ImportError as error:
    sys.stderr.write(
        "supervisor_oracle: cannot import supervisor (%s) with %s; install it (apt-get install -y supervisor) "
        "and run this script with /usr/bin/python3\n" % (error, sys.executable)
    )
    sys.exit(4)


def restart_name(value):
    if value is RestartUnconditionally:
        return "true"
    if value is RestartWhenExitUnexpected:
        return "unexpected"
    return "false"


def logfile(value):
    """A path, None, or supervisor's Automatic/Syslog marker classes as "AUTO"/"SYSLOG"."""
    if isinstance(value, type):
        return value.__name__.upper().replace("AUTOMATIC", "AUTO")
    return value


def signal_name(number):
    return signal.Signals(number).name[3:]


def program(config, group):
    return {
        "name": config.name,
        "group": group,
        "argv": shlex.split(config.command),
        "command": config.command,
        "environment": config.environment,
        "directory": config.directory,
        "uid": config.uid,
        "autostart": config.autostart,
        "autorestart": restart_name(config.autorestart),
        "priority": config.priority,
        "startsecs": config.startsecs,
        "startretries": config.startretries,
        "stopsignal": signal_name(config.stopsignal),
        "stopwaitsecs": config.stopwaitsecs,
        "stopasgroup": config.stopasgroup,
        "killasgroup": config.killasgroup,
        "stdout_logfile": logfile(config.stdout_logfile),
        "stdout_logfile_maxbytes": config.stdout_logfile_maxbytes,
        "stdout_logfile_backups": config.stdout_logfile_backups,
        "stderr_logfile": logfile(config.stderr_logfile),
        "stderr_logfile_maxbytes": config.stderr_logfile_maxbytes,
        "stderr_logfile_backups": config.stderr_logfile_backups,
        "redirect_stderr": config.redirect_stderr,
        "exitcodes": list(config.exitcodes),
    }


def client_serverurl(path):
    """The socket URL supervisorctl -c PATH talks to, or None when supervisorctl refuses the file."""
    client = ClientOptions()
    client.configfile = path
    try:
        client.process_config(do_usage=False)
    except ValueError:
        return None
    return client.serverurl


def load(path):
    options = ServerOptions()
    options.configfile = path
    try:
        options.process_config(do_usage=False)
    except ValueError as error:
        return {"ok": False, "error": str(error)}
    except Exception as error:  # supervisord itself would die on these too: report, keep serving
        return {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
    try:
        return describe(path, options)
    except Exception as error:
        return {"ok": False, "error": "oracle failed to describe the config: %s: %s" % (type(error).__name__, error)}


def describe(path, options):
    section = options.configroot.supervisord
    programs = []
    for group in section.process_group_configs:
        for config in group.process_configs:
            programs.append(program(config, group.name))
    return {
        "ok": True,
        "supervisord": {
            "pidfile": section.pidfile,
            "logfile": section.logfile,
            "logfile_maxbytes": section.logfile_maxbytes,
            "logfile_backups": section.logfile_backups,
            "childlogdir": section.childlogdir,
            "identifier": section.identifier,
            "nodaemon": section.nodaemon,
            "servers": [
                {"family": c.get("family"), "file": c.get("file"), "chmod": c.get("chmod")}
                for c in section.server_configs
            ],
        },
        "supervisorctl": {"serverurl": client_serverurl(path)},
        "programs": programs,
        "warnings": list(options.parse_warnings),
    }

def main(args):
    if args == ["--serve"]:
        for line in sys.stdin:
            sys.stdout.write(json.dumps(load(line.rstrip("\n")), default=repr) + "\n")
            sys.stdout.flush()
        return 0
    if len(args) != 1:
        sys.stderr.write("usage: supervisor_oracle.py CONF | --serve\n")
        return 2
    result = load(args[0])
    sys.stdout.write(json.dumps(result, indent=2, default=repr) + "\n")
    return 0 if result["ok"] else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
