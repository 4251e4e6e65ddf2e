/**
 * Escaping for supervisord config files: the only place that knows how supervisord reads a value.
 *
 * supervisord reads a value in layers (docs/facts.md "supervisord: how a value is read", checked
 * against supervisor 4.2.5 `options.py` and `datatypes.py`):
 * 1. Python's RawConfigParser, one physical line per key (`\n`, `\r` end a line), the value stripped of
 *    whitespace at both ends, and `;`/`#` starting an inline comment when a whitespace character (Python's
 *    `str.isspace`) precedes it — even inside quotes.
 * 2. When the config has an `[include]` section, every value has the text `%(here)s` replaced with a folder
 *    (`UnhosedConfigParser.expand_here`), even where it is preceded by `%` — so `%%(here)s` is NOT a literal.
 * 3. `value % expansions`: `%` must be written `%%` — and a program's `stdout_logfile`/`stderr_logfile` are
 *    expanded TWICE (options.py `_processes_from_section`: `get()` expands, then `expand()` again), so there
 *    `%` must be written `%%%%` (found by the oracle test; the plain rule says `%%` for every path key).
 * 4. A per-key parser: `command=` is split by `shlex.split` (POSIX); `environment=` by `shlex.shlex` in
 *    non-POSIX mode (no escapes at all) with `'` and `"` stripped from both ends of each value; path keys
 *    are taken as they are.
 * Every function here is pure and either returns text supervisord reads back as exactly its input, or throws
 * a {@link UsageError} (exit 2) naming the value, where it comes from, why, and the fix.
 */
import { UsageError } from "../../errors";

/** Where a value comes from, for messages: `{service: "api", field: "env.TOKEN"}` → `services.api.env.TOKEN`. */
export interface ValueSite {
  service?: string;
  field: string;
}

/** Code points for which Python 3's `str.isspace()` is true (the test configparser uses for inline comments). */
const PYTHON_SPACE = new Set(
  [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ].map((c) => String.fromCharCode(c)),
);

/** Text that supervisord replaces in every value of a config with an `[include]` section (layer 2 above). */
const HERE = "%(here)s";

/** Words that need no quoting for shlex (POSIX) and carry no INI hazard; shown bare for readability. */
const BARE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** True when `ch` (one UTF-16 unit) is whitespace to Python's `str.isspace()`. */
export function isPythonSpace(ch: string): boolean {
  return PYTHON_SPACE.has(ch);
}

/** True when some `;` or `#` in `s` follows a whitespace character, i.e. configparser would cut the line there. */
export function hasInlineComment(s: string): boolean {
  for (let i = 1; i < s.length; i++) {
    if ((s[i] === ";" || s[i] === "#") && isPythonSpace(s[i - 1])) return true;
  }
  return false;
}

function siteName(where: ValueSite | undefined): string {
  if (!where) return "value";
  return where.service ? `services.${where.service}.${where.field}` : where.field;
}

/** `value` as a JSON string with invisible and line-separating characters written as `\uXXXX`. */
export function showValue(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

function refuse(where: ValueSite | undefined, value: string, why: string, fix: string): never {
  throw new UsageError(`${siteName(where)}: supervisord cannot read ${showValue(value)} back exactly: ${why}`, fix);
}

/** Doubles every `%` (supervisord's `value % expansions`, docs/facts.md: a lone `%` rejects the whole config). */
function percent(s: string): string {
  return s.replace(/%/g, "%%");
}

/**
 * Why `value` cannot be written inline in `environment=`, or undefined when it can. Rules (docs/facts.md and
 * supervisor's `datatypes.dict_of_key_value_pairs`): no NUL or line break; not both `'` and `"` (non-POSIX
 * shlex has no escape); no quote character at either end (it is stripped); no whitespace before `;`/`#`
 * (an inline comment, even inside quotes); no `%(here)s` (replaced even when escaped).
 */
export function envValueProblem(value: string): string | undefined {
  if (value.includes("\0")) return "it contains a NUL character";
  if (/[\n\r]/.test(value)) return "it contains a line break (supervisord reads one line per key)";
  if (value.includes('"') && value.includes("'"))
    return "it contains both ' and \" (environment= has no escape character)";
  if (/^["']|["']$/.test(value)) return "it starts or ends with a quote character, which supervisord strips";
  if (hasInlineComment(value))
    return "a ';' or '#' follows whitespace, which supervisord reads as the start of a comment";
  if (value.includes(HERE))
    return "it contains %(here)s, which supervisord replaces with a folder even when written %%(here)s";
  return undefined;
}

/** True when {@link environmentValue} can write `value` inline in supervisord's `environment=`. */
export function isRepresentableEnvValue(value: string): boolean {
  return envValueProblem(value) === undefined;
}

/**
 * One value of `environment=KEY=VALUE,…`, always quoted: `"…"`, or `'…'` when it contains `"`; `%` → `%%`.
 * docs/facts.md: `environment=PORT="18096",T_DQ='say "hi" now',T_PCT="100%%"` was received exactly.
 * @throws UsageError when {@link isRepresentableEnvValue} is false (launchSpec moves such values to an env file).
 */
export function environmentValue(value: string, where?: ValueSite): string {
  const problem = envValueProblem(value);
  if (problem) {
    refuse(
      where,
      value,
      problem,
      "move the variable into the service's envFile (a KEY=VALUE file), or change the value",
    );
  }
  const quote = value.includes('"') ? "'" : '"';
  return quote + percent(value) + quote;
}

/**
 * One word of `command=`, such that supervisord's `shlex.split` (POSIX) yields exactly `word`. Plain words
 * stay bare; others are double-quoted with `\"` and `\\`. A `;`/`#` after whitespace is written `\;`/`\#`
 * outside the quotes (docs/facts.md: `"a "\;"b"` worked), and `(` after `%` as `\(` so `%(here)s` never appears.
 * `%` → `%%` everywhere.
 * @throws UsageError for a NUL or a line break, which no supervisord line can hold.
 */
export function quoteCommandWord(word: string, where?: ValueSite): string {
  if (/[\0\n\r]/.test(word)) {
    refuse(
      where,
      word,
      "it contains a NUL or a line break (supervisord reads one line per key)",
      "remove the control character from the command",
    );
  }
  if (BARE_WORD.test(word)) return percent(word);
  let out = "";
  let open = false;
  for (let i = 0; i < word.length; i++) {
    const ch = word[i];
    const prev = i > 0 ? word[i - 1] : "";
    const mustEscapeOutside = ((ch === ";" || ch === "#") && isPythonSpace(prev)) || (ch === "(" && prev === "%");
    if (mustEscapeOutside) {
      if (open) out += '"';
      open = false;
      out += "\\" + ch;
      continue;
    }
    if (!open) out += '"';
    open = true;
    out += ch === '"' || ch === "\\" ? "\\" + ch : ch === "%" ? "%%" : ch;
  }
  return open ? out + '"' : out || '""';
}

/**
 * The whole `command=` value for `argv` (words joined by one space).
 * @throws UsageError for an empty argv or a word {@link quoteCommandWord} refuses (naming the word's index).
 */
export function commandLine(argv: readonly string[], service?: string): string {
  if (argv.length === 0) {
    throw new UsageError(
      `${siteName({ service, field: "command" })}: expected a program to run, found an empty command`,
      "set command to the program and its arguments",
    );
  }
  return argv.map((w, i) => quoteCommandWord(w, { service, field: `command[${i}]` })).join(" ");
}

/**
 * A value supervisord takes as it is (no quotes), such as `user=`: `%` → `%%`.
 * @throws UsageError when empty, for a NUL or line break, whitespace at either end (stripped), a `;`/`#`
 * after whitespace (a comment) or `%(here)s` (replaced).
 */
export function plainValue(value: string, where?: ValueSite): string {
  const fix = "choose a value without these characters";
  if (value === "") refuse(where, value, "it is empty", "set a value");
  if (/[\0\n\r]/.test(value)) refuse(where, value, "it contains a NUL or a line break", fix);
  if (isPythonSpace(value[0]) || isPythonSpace(value[value.length - 1])) {
    refuse(where, value, "it starts or ends with whitespace, which supervisord strips", fix);
  }
  if (hasInlineComment(value))
    refuse(where, value, "a ';' or '#' follows whitespace, which supervisord reads as a comment", fix);
  if (value.includes(HERE)) refuse(where, value, "it contains %(here)s, which supervisord replaces with a folder", fix);
  return percent(value);
}

/**
 * An absolute path for a path key (`directory`, `stdout_logfile`, `file`, …): no quotes (docs/facts.md: path keys
 * take no quotes), `%` → `%%`.
 * @throws UsageError when not absolute, or for anything {@link plainValue} refuses.
 */
export function pathValue(path: string, where?: ValueSite): string {
  if (!path.startsWith("/")) {
    refuse(
      where,
      path,
      "it is not an absolute path",
      "use an absolute path (paths in the manifest are resolved against its folder)",
    );
  }
  return plainValue(path, where);
}

/**
 * A program's `stdout_logfile=`/`stderr_logfile=`: like {@link pathValue}, but `%` → `%%%%`, because
 * supervisord expands these two keys twice (supervisor 4.2.5 options.py `_processes_from_section`).
 * @throws UsageError as {@link pathValue}.
 */
export function logfileValue(path: string, where?: ValueSite): string {
  return pathValue(path, where).replace(/%%/g, "%%%%");
}

/**
 * The first line of every generated supervisord-side file: `; Generated by orchestrate from manifest.json —
 * do not edit; run "orchestrate generate".` `prefix` is the comment marker (`;` for INI and env files, `#`
 * for the Python wrapper, whose first line must stay its `#!`).
 */
export function generatedHeader(manifestName: string, prefix = ";"): string {
  return `${prefix} Generated by orchestrate from ${manifestName} — do not edit; run "orchestrate generate".`;
}
