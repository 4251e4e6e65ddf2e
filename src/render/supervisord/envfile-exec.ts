/**
 * The env-file wrapper and the generated env files (see src/render/supervisord/launch.ts for when they are used).
 *
 * `units/bin/envfile-exec FILE... -- PROGRAM [ARG...]` is a stdlib-only Python 3 script (supervisord is
 * Python, so python3 exists wherever supervisord does). It loads each FILE in order, sets the variables,
 * and `os.execvp`s PROGRAM: the PID stays the same, so supervisord's signals and process-tree checks reach
 * the program itself.
 *
 * File format: the format of systemd's `EnvironmentFile=` (its `parse_env_file_internal`, systemd
 * src/basic/env-file.c, v254+), so one secrets file serves both backends: `KEY=VALUE` lines; blank lines and
 * lines whose first non-blank character is `#` or `;` are comments; whitespace around the key and the
 * unquoted value is dropped; `'…'` is literal (may span lines); `"…"` unescapes `\"`, `\\`, `` \` ``, `\$`
 * and keeps other backslashes; unquoted, `\x` is `x` and a trailing `\` continues the line; quoted and
 * unquoted parts concatenate. Additions: an `export ` before the key is ignored (systemd 252 instead drops
 * such a line as an invalid name, with a warning); a comment ending in `\` never continues onto the next line
 * (as in systemd 254+; 252 continued it). Lines without `=` and invalid names are skipped with a
 * warning naming file and line (never the value). Bytes that are not UTF-8 are passed through unchanged.
 *
 * Exit codes (like a shell): 127 an env file or the program does not exist, 126 one cannot be read or run,
 * 2 bad usage. Messages go to stderr, i.e. the program's stderr log.
 */
import { basename, relative } from "node:path";
import { generatedEnvFilePath, envfileExecPath, splitEnvironment } from "./launch";
import type { Model, RenderedFile, Service } from "../../model/types";
import { generatedHeader } from "./escape";

/** The script after its `#!` and header lines. No backticks or `${` inside: it is a raw template. */
const SCRIPT = String.raw`"""envfile-exec FILE... -- PROGRAM [ARG...]

Loads each FILE (KEY=VALUE lines, the format of systemd's EnvironmentFile=) in order, a later value
winning, then replaces itself with PROGRAM (os.execvp: same PID). Exit 127: a file or PROGRAM is missing;
126: one cannot be read or run; 2: bad usage. Values are never printed.
"""
import os
import re
import sys

NEWLINE = "\n\r"
WHITESPACE = " \t\n\r"
ESCAPABLE = '"\\$' + chr(96)
NAME = re.compile(r"^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)$")


def fail(code, message):
    sys.stderr.write("envfile-exec: " + message + "\n")
    sys.exit(code)


def parse(path, text):
    """Yields (line, key, value) like systemd's parse_env_file_internal."""
    state, key, value, line, start = "pre_key", [], [], 1, 1
    key_ws = value_ws = None
    for c in text:
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in WHITESPACE:
                state, key, key_ws, start = "key", [c], None, line
        elif state == "key":
            if c in NEWLINE:
                sys.stderr.write("envfile-exec: %s:%d: no '=' in the line, skipped\n" % (path, start))
                state = "pre_key"
            elif c == "=":
                state, value, value_ws = "pre_value", [], None
            else:
                if c not in WHITESPACE:
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key.append(c)
        elif state == "pre_value":
            if c in NEWLINE:
                yield start, key, key_ws, value, None
                state = "pre_key"
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in WHITESPACE:
                state = "value"
                value.append(c)
        elif state == "value":
            if c in NEWLINE:
                yield start, key, key_ws, value, value_ws
                state = "pre_key"
            elif c == "\\":
                state, value_ws = "value_escape", None
            else:
                if c not in WHITESPACE:
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value.append(c)
        elif state == "value_escape":
            state = "value"
            if c not in NEWLINE:
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value.append(c)
        elif state == "double_escape":
            state = "double"
            if c in ESCAPABLE:
                value.append(c)
            elif c != "\n":
                value.extend(("\\", c))
        elif state == "comment":
            if c in NEWLINE:
                state = "pre_key"
        if c == "\n":
            line += 1
    if state in ("pre_value", "value", "value_escape", "single", "double", "double_escape"):
        yield start, key, key_ws, value, value_ws if state == "value" else None


def load(path):
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        fail(127, "env file %s does not exist; create it (KEY=VALUE lines) or remove it from the manifest" % path)
    except OSError as e:
        fail(126, "cannot read env file %s: %s; check its owner and mode (0600)" % (path, e.strerror))
    for line, key, key_ws, value, value_ws in parse(path, text):
        name = "".join(key if key_ws is None else key[:key_ws])
        match = NAME.match(name)
        if not match:
            sys.stderr.write("envfile-exec: %s:%d: %r is not a variable name, skipped\n" % (path, line, name))
            continue
        os.environ[match.group(1)] = "".join(value if value_ws is None else value[:value_ws])


def main(args):
    if "--" not in args or args.index("--") == len(args) - 1:
        fail(2, "usage: envfile-exec FILE... -- PROGRAM [ARG...]")
    split = args.index("--")
    for path in args[:split]:
        load(path)
    program = args[split + 1:]
    try:
        os.execvp(program[0], program)
    except FileNotFoundError:
        fail(127, "cannot run %s: no such file, or not found in PATH" % program[0])
    except OSError as e:
        fail(126, "cannot run %s: %s" % (program[0], e.strerror))


if __name__ == "__main__":
    main(sys.argv[1:])
`;

/** Project-relative path of a file under the root, e.g. `units/bin/envfile-exec`. */
function rel(model: Model, absolute: string): string {
  return relative(model.paths.root, absolute);
}

/** `units/bin/envfile-exec`, mode 0o755: the wrapper script (contract in this file's header). */
export function renderEnvfileExec(model: Model): RenderedFile {
  const header = generatedHeader(basename(model.paths.manifest), "#");
  return {
    path: rel(model, envfileExecPath(model)),
    content: `#!/usr/bin/env python3\n${header}\n${SCRIPT}`,
    mode: 0o755,
  };
}

/**
 * One `KEY=VALUE` line that the wrapper (and systemd's EnvironmentFile=) reads back as exactly `value`:
 * `KEY='value'`, or `KEY="value"` with `"`, `\`, backtick and `$` backslash-escaped when it contains `'`.
 * Line breaks are kept literally inside the quotes.
 */
export function envFileAssignment(key: string, value: string): string {
  if (!value.includes("'")) return `${key}='${value}'`;
  return `${key}="${value.replace(/["\\`$]/g, (c) => "\\" + c)}"`;
}

/**
 * `units/env/NAME.env`, mode 0o600: the values of `service.env` that supervisord's `environment=` cannot
 * hold, or undefined when there are none.
 */
export function renderEnvFile(
  model: Model,
  service: Service,
  instance = service.instances[0],
): RenderedFile | undefined {
  const { file } = splitEnvironment(service, instance);
  const keys = Object.keys(file);
  if (keys.length === 0) return undefined;
  const lines = [
    generatedHeader(basename(model.paths.manifest)),
    `; Values of services.${service.name}.env that supervisord's environment= cannot hold; loaded by units/bin/envfile-exec.`,
    ...keys.map((k) => envFileAssignment(k, file[k])),
  ];
  return {
    path: rel(model, generatedEnvFilePath(model, service, instance)),
    content: lines.join("\n") + "\n",
    mode: 0o600,
  };
}
