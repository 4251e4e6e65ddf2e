#!/usr/bin/python3
"""Oracle for test/e2e/ini-reader-oracle.test.ts: supervisor's own parsers (supervisor 4.2.5, Debian's
/usr/bin/python3) applied to cases read as a JSON list on stdin; one JSON result per case on stdout.

Cases: {"kind": "ini", "text"} RawConfigParser as supervisord configures it (UnhosedConfigParser);
{"kind": "env", "text"} datatypes.dict_of_key_value_pairs; {"kind": "cmd", "text"} shlex.split (what
supervisord does to command=); {"kind": "pct", "text", "vars"} supervisord's `value % expansions`;
{"kind": "conf", "path", "environ"} ServerOptions.process_config on a file, exactly as supervisord
loads it, except that log folders and users need not exist on this machine (parse only).
Exit 3 when the supervisor module is missing: the test must fail, never skip.
"""
import io
import json
import os
import shlex
import sys

try:
    from supervisor import datatypes, options
    from supervisor.options import ServerOptions, UnhosedConfigParser
except ImportError as exc:  # pragma: no cover
    sys.stderr.write("supervisor's python module is missing (apt-get install -y supervisor): %s\n" % exc)
    sys.exit(3)

# Parse only: the folders and users a config names need not exist here.
datatypes.existing_dirpath = lambda v: v
options.existing_dirpath = lambda v: v
options.existing_directory = lambda v: v
options.name_to_uid = lambda v: 0


def run(case):
    kind = case["kind"]
    if kind == "ini":
        parser = UnhosedConfigParser()
        parser.read_file(io.StringIO(case["text"], newline=None), "<case>")
        return {s: dict(parser.items(s)) for s in parser.sections()}
    if kind == "env":
        return list(datatypes.dict_of_key_value_pairs(case["text"]).items())
    if kind == "cmd":
        return shlex.split(case["text"])
    if kind == "pct":
        return options.expand(case["text"], case["vars"], "case")
    if kind == "conf":
        os.environ.clear()
        os.environ.update(case["environ"])
        o = ServerOptions()
        o.configfile = case["path"]
        o.process_config(do_usage=False)
        programs = []
        for group in o.process_group_configs:
            for p in group.process_configs:
                programs.append({"name": p.name, "argv": shlex.split(p.command), "directory": p.directory,
                                 "environment": p.environment or {}, "user": p.uid})
        return {"programs": programs}  # [supervisord] environment= is already merged in by supervisor
    raise ValueError("unknown case kind %r" % kind)


results = []
for case in json.load(sys.stdin):
    try:
        results.append({"ok": True, "value": run(case)})
    except Exception as exc:  # supervisord reports these as config errors
        results.append({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)})
json.dump(results, sys.stdout)
