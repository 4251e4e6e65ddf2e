/**
 * Escaping of values written into systemd unit files (systemd 252). One function per kind of value,
 * because systemd parses each setting with its own rules (docs/facts.md "systemd 252", checked there with
 * `systemd --test` and `systemd-analyze verify`):
 *
 * | setting | rule | function |
 * |---|---|---|
 * | `ExecStart=` | every word in `"…"`, `\"` `\\` `%%` `$$`, tab/newline as `\t`/`\n` | {@link execArg}, {@link execStart} |
 * | `Environment=` | `"K=v"`, `\"` `\\` `%%`; `$` literal (never `\$`) | {@link environmentAssignment} |
 * | `WorkingDirectory=`, `EnvironmentFile=`, `append:` | unquoted absolute path, `%%` | {@link pathValue} |
 * | `ReadWritePaths=` and other path lists | quoted absolute path, `\"` `\\` `%%` | {@link pathListItem} |
 * | `Description=` | free text, `%%` | {@link textValue} |
 *
 * Control characters (C0 and DEL) are refused everywhere except tab/newline in ExecStart, and so are Unicode
 * noncharacters (U+FFFE, U+FDD0…): systemd 252 ignores a line containing one ("not UTF-8 clean").
 *
 * Every function throws {@link UsageError} (exit 2: a value the target format cannot represent) naming
 * the service, the setting and the value, instead of writing something systemd would read differently.
 */
import { UsageError } from "../../errors";

/** Where a value goes, for error messages: the service and the unit setting (e.g. `ExecStart`). */
export interface ValueLocation {
  service?: string;
  field: string;
}

const DEFAULT_LOCATION: ValueLocation = { field: "value" };

/** C0 controls and DEL; `allowed` lists the ones a setting can carry escaped (tab, newline). */
function controlCharacter(value: string, allowed: string): string | undefined {
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if ((code < 0x20 || code === 0x7f) && !allowed.includes(ch)) return ch;
  }
  return undefined;
}

/** A lone UTF-16 surrogate cannot be written as UTF-8: systemd would read U+FFFD or reject the line. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuse(where: ValueLocation, value: string, problem: string, fix: string): never {
  const who = where.service ? `service "${where.service}": ` : "";
  throw new UsageError(`${who}systemd ${where.field}= cannot hold ${JSON.stringify(value)}: ${problem}`, fix);
}

/** Throws unless `value` is well-formed Unicode without control characters other than `allowed`. */
function checkCharacters(value: string, where: ValueLocation, allowed = ""): void {
  const cc = controlCharacter(value, allowed);
  if (cc !== undefined) {
    const hex = `U+${cc.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    refuse(
      where,
      value,
      `expected no control characters, found ${hex}`,
      "remove the control character from the manifest value",
    );
  }
  if (LONE_SURROGATE.test(value)) {
    refuse(
      where,
      value,
      "expected valid Unicode, found a lone surrogate",
      "fix the character encoding of the manifest value",
    );
  }
  const nonCharacter = [...value].find((ch) => isNonCharacter(ch.codePointAt(0)!));
  if (nonCharacter !== undefined) {
    const hex = `U+${nonCharacter.codePointAt(0)!.toString(16).toUpperCase()}`;
    refuse(
      where,
      value,
      `expected no Unicode noncharacters, found ${hex} (systemd ignores the whole line as "not UTF-8 clean")`,
      "remove the character",
    );
  }
}

/** U+FDD0..U+FDEF and U+xxFFFE/U+xxFFFF: systemd's unichar_is_valid() rejects them (seen with systemd 252). */
function isNonCharacter(code: number): boolean {
  return (code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe;
}

/** Doubles `%`: systemd expands `%x` specifiers in almost every setting (systemd.unit(5) "Specifiers"). */
function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, "%%");
}

/**
 * One `ExecStart=` word: always in double quotes, `\` → `\\`, `"` → `\"`, `%` → `%%`, `$` → `$$`,
 * tab → `\t`, newline → `\n` (systemd.service(5) "Command lines"; docs/facts.md). Quoting every word keeps a
 * bare `;` (command separator), `#`, spaces and empty strings literal.
 * @throws UsageError for other control characters or lone surrogates.
 */
export function execArg(value: string, where: ValueLocation = { field: "ExecStart" }): string {
  checkCharacters(value, where, "\t\n");
  const body = value.replace(/[\\"%$\t\n]/g, (ch) => {
    switch (ch) {
      case "\\":
        return "\\\\";
      case '"':
        return '\\"';
      case "%":
        return "%%";
      case "$":
        return "$$";
      case "\t":
        return "\\t";
      default:
        return "\\n";
    }
  });
  return `"${body}"`;
}

/**
 * The value of `ExecStart=` for an exact argv: each word through {@link execArg}, joined by spaces.
 * argv[0] must be absolute or a bare name systemd finds on its own search path (systemd.service(5)).
 * @throws UsageError for an empty argv, a relative argv[0] containing `/`, or a word {@link execArg} refuses.
 */
export function execStart(argv: readonly string[], where: ValueLocation = { field: "ExecStart" }): string {
  if (argv.length === 0 || argv[0] === "") {
    refuse(where, argv[0] ?? "", "expected a program to run, found an empty command", "give the service a command");
  }
  const program = argv[0];
  if (program.includes("/") && !program.startsWith("/")) {
    refuse(
      where,
      program,
      "expected an absolute executable path or a bare name, found a relative path",
      `write the command with an absolute path, e.g. "{dir}/${program.replace(/^\.\//, "")}" resolved against the service directory`,
    );
  }
  return argv.map((word) => execArg(word, where)).join(" ");
}

/** Environment variable names systemd and the manifest (README "Manifest reference") accept. */
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One `Environment=` assignment: `"KEY=value"` with `\` → `\\`, `"` → `\"`, `%` → `%%`. `$` stays
 * literal: systemd does not expand variables in Environment=, and `\$` would drop the whole assignment
 * with only a warning (systemd.exec(5) "Environment="; docs/facts.md).
 * @throws UsageError for an invalid name, or control characters / lone surrogates in the value.
 */
export function environmentAssignment(
  key: string,
  value: string,
  where: ValueLocation = { field: "Environment" },
): string {
  if (!ENV_KEY.test(key)) {
    refuse(where, key, "expected a variable name matching [A-Za-z_][A-Za-z0-9_]*", "rename the variable in env");
  }
  checkCharacters(value, { ...where, field: `${where.field} ${key}` });
  return `"${key}=${escapeSpecifiers(value.replace(/[\\"]/g, (ch) => `\\${ch}`))}"`;
}

/** Checks shared by both kinds of path value. */
function checkPath(path: string, where: ValueLocation): void {
  checkCharacters(path, where);
  if (!path.startsWith("/")) {
    refuse(
      where,
      path,
      "expected an absolute path",
      "use an absolute path (the model resolves manifest paths against its folder)",
    );
  }
}

/**
 * A path written unquoted, as `WorkingDirectory=`, `EnvironmentFile=` and `StandardOutput=append:` take
 * it: spaces, quotes, `#`, `;`, `\` and `$` are kept literally, `%` → `%%` (systemd.exec(5); docs/facts.md:
 * a quoted WorkingDirectory= is "not absolute", fatal). Trailing whitespace would be stripped and a
 * trailing `\` would continue the line, so both are refused.
 * @throws UsageError when not absolute, with control characters, or ending in whitespace or `\`.
 */
export function pathValue(path: string, where: ValueLocation = DEFAULT_LOCATION): string {
  checkPath(path, where);
  if (/[\s\\]$/.test(path)) {
    refuse(
      where,
      path,
      "expected a path not ending in whitespace or a backslash (systemd would strip or join it)",
      "rename the folder or file",
    );
  }
  return escapeSpecifiers(path);
}

/**
 * One path of a space-separated list such as `ReadWritePaths=`/`ReadOnlyPaths=`: in double quotes with
 * `\` → `\\`, `"` → `\"`, `%` → `%%` (these settings split on spaces and unquote: systemd.exec(5)).
 * @throws UsageError when not absolute or with control characters.
 */
export function pathListItem(path: string, where: ValueLocation = DEFAULT_LOCATION): string {
  checkPath(path, where);
  return `"${escapeSpecifiers(path.replace(/[\\"]/g, (ch) => `\\${ch}`))}"`;
}

/**
 * Free text such as `Description=`: kept as written (quotes are not removed there), `%` → `%%`.
 * Leading/trailing whitespace would be stripped and a trailing `\` would continue the line: both refused.
 * @throws UsageError for control characters, lone surrogates, or surrounding whitespace / trailing `\`.
 */
export function textValue(text: string, where: ValueLocation = { field: "Description" }): string {
  checkCharacters(text, where);
  if (/^\s|[\s\\]$/.test(text)) {
    refuse(where, text, "expected text without leading/trailing whitespace or a trailing backslash", "trim the text");
  }
  return escapeSpecifiers(text);
}
