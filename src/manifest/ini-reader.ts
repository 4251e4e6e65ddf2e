/**
 * Reads a supervisord.conf exactly as supervisord reads it: Python's RawConfigParser as supervisor
 * configures it (`UnhosedConfigParser` in supervisor/options.py: `inline_comment_prefixes=(';','#')`,
 * `strict=False`), then `value % expansions`, then a per-key parser (shlex for `command=`,
 * `dict_of_key_value_pairs` for `environment=`). All four steps are here: readIni, expandPercent,
 * splitCommand, splitEnvironment.
 *
 * Why not the `ini` npm package (docs/facts.md "Node and npm", tested): it joins no continuation lines
 * (`environment=A="1",\n  B="2"` becomes separate keys), does not read `key: value`, cuts values at
 * `;`/`#` even without whitespace before them, strips quotes that supervisord keeps, and knows nothing
 * of `%` expansion. Each of those would silently import a different program than supervisord runs.
 *
 * Source of the rules: Python 3.11 `configparser.RawConfigParser._read` (docs: "Supported INI File
 * Structure"), supervisord docs "Configuration File" (format, `%(ENV_X)s`, `%(here)s`), and
 * supervisor 4.2.5 options.py / datatypes.py. test/e2e/ini-reader-oracle.test.ts compares this module
 * with supervisor's own parser.
 */
import { UsageError } from "../errors";

/** One `key=value` as supervisord sees it before `%` expansion; `line` is where the key was (1-based). */
export interface IniEntry {
  value: string;
  line: number;
}

/**
 * One section, e.g. `[program:web]`. `entries` maps lower-cased keys to their last assignment, with the
 * `[DEFAULT]` section's entries inherited underneath (configparser semantics; `[DEFAULT]` itself is not
 * listed, as `RawConfigParser.sections()` does not list it). `line` is the section's first header line.
 */
export interface IniSection {
  name: string;
  entries: Map<string, IniEntry>;
  line: number;
}

/** Where a value came from, for error messages: file, line, section and key. */
export interface IniLocation {
  file: string;
  line: number;
  section: string;
  key: string;
}

/** Python's `str.isspace()` set, which is also what `\s` and `str.strip()` use (differs from JS `\s`). */
export const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SPACE = new RegExp(`[${PY_SPACE}]`);
const NON_SPACE = new RegExp(`[^${PY_SPACE}]`);
const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");
const SECTION = /^\[([^\n]+)\]/;
const OPTION = new RegExp(`^([^\\n]*?)[${PY_SPACE}]*(=|:)[${PY_SPACE}]*([^\\n]*)$`);
const DEFAULT_SECTION = "DEFAULT";

/** Python `str.strip()` without arguments. */
export function pyStrip(s: string): string {
  return s.replace(STRIP, "");
}

/** Builds the UsageError every reader function throws: file:line, section, key, value, then why. */
export function iniError(where: IniLocation | undefined, value: string, why: string, hint?: string): UsageError {
  const place = where ? `${where.file}:${where.line}: [${where.section}] ${where.key}=` : "";
  return new UsageError(`${place}${JSON.stringify(value)}: ${why}`, hint);
}

/**
 * Index where an inline comment starts, or -1: the first `;`/`#` at the start of the line or after
 * whitespace, searched the way configparser does it (one occurrence of each prefix per round, stopping
 * at the first round that finds one; so `a#b #c ;d` keeps `a#b #c`, exactly as Python does).
 */
function inlineCommentStart(line: string): number {
  let found = Infinity;
  let pending = new Map<string, number>([
    [";", -1],
    ["#", -1],
  ]);
  while (found === Infinity && pending.size > 0) {
    const next = new Map<string, number>();
    for (const [prefix, from] of pending) {
      const index = line.indexOf(prefix, from + 1);
      if (index === -1) continue;
      next.set(prefix, index);
      if (index === 0 || SPACE.test(line[index - 1])) found = Math.min(found, index);
    }
    pending = next;
  }
  return found === Infinity ? -1 : found;
}

/**
 * Parses supervisord configuration text with RawConfigParser semantics: `[section]` headers (the name
 * is everything up to the LAST `]`; text after it is ignored), `key = value` or `key: value` (first
 * delimiter wins), keys lower-cased, values stripped; lines starting with `;`/`#` are comments (also
 * between continuation lines); `;`/`#` after whitespace starts an inline comment; a line indented
 * deeper than its key continues the value (joined with "\n"; blank lines inside are kept, trailing ones
 * dropped); a repeated section is merged and a repeated key keeps the last value (strict=False).
 * `\r\n` and `\r` count as line ends (Python's universal newlines).
 * @throws UsageError (exit 2) for a key/value line before any section, and for lines that are neither
 *   header, option nor continuation (all such lines listed, as configparser's ParsingError does).
 */
export function readIni(text: string, fileName: string): IniSection[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const sections = new Map<string, IniSection>();
  const defaults: IniSection = { name: DEFAULT_SECTION, entries: new Map(), line: 0 };
  const values = new Map<IniSection, Map<string, string[]>>();
  const bad: string[] = [];
  let current: IniSection | undefined;
  let option: string | undefined;
  let indentLevel = 0;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    let commentStart = inlineCommentStart(raw);
    if (pyStrip(raw).startsWith("#") || pyStrip(raw).startsWith(";")) commentStart = 0;
    const value = pyStrip(commentStart === -1 ? raw : raw.slice(0, commentStart));
    if (!value) {
      if (commentStart === -1 && current && option) values.get(current)?.get(option)?.push("");
      return;
    }
    const indent = raw.search(NON_SPACE);
    if (current && option && indent > indentLevel) {
      values.get(current)?.get(option)?.push(value);
      return;
    }
    indentLevel = indent;
    const header = SECTION.exec(value);
    if (header) {
      const name = header[1];
      if (name === DEFAULT_SECTION) current = defaults;
      else {
        current = sections.get(name);
        if (!current) sections.set(name, (current = { name, entries: new Map(), line: lineNo }));
      }
      if (!values.has(current)) values.set(current, new Map());
      option = undefined;
      return;
    }
    if (!current) {
      throw new UsageError(
        `${fileName}:${lineNo}: ${JSON.stringify(raw)} comes before any [section]`,
        "start the file with a section header such as [supervisord]",
      );
    }
    const m = OPTION.exec(value);
    if (!m || !m[1]) {
      bad.push(`${lineNo}: ${JSON.stringify(raw)}`);
      if (!m) return;
    }
    option = m[1].replace(new RegExp(`[${PY_SPACE}]+$`), "").toLowerCase();
    current.entries.set(option, { value: "", line: lineNo });
    values.get(current)?.set(option, [pyStrip(m[3])]);
  });
  if (bad.length > 0) {
    throw new UsageError(
      `${fileName}: ${bad.length} line${bad.length === 1 ? "" : "s"} supervisord cannot parse (neither [section], key=value nor an indented continuation):\n  ${bad.join("\n  ")}`,
      'write "key = value" lines inside a [section]',
    );
  }
  for (const [section, byKey] of values) {
    for (const [key, parts] of byKey) {
      const entry = section.entries.get(key);
      if (entry) entry.value = parts.join("\n").replace(new RegExp(`[${PY_SPACE}]+$`), "");
    }
  }
  return [...sections.values()].map((s) => ({ ...s, entries: new Map([...defaults.entries, ...s.entries]) }));
}

/** Values for `%(name)s` expansion: strings, and numbers for `%(process_num)d`-style keys. */
export type PercentVars = Record<string, string | number>;

const FORMAT_SPEC = /^([-+ #0]*)(\d*)(?:\.(\d*))?[hlL]?(.?)/s;

/**
 * Python's `value % vars` as supervisord applies it to every value it reads (supervisor options.py
 * `expand`; Python docs "printf-style String Formatting"): `%%` → `%`, `%(name)s` → the value,
 * `%(name)d`/`i`/`u` → an integer, with flags, width and precision (`%(process_num)02d`).
 * Supervisord's names: `here`, `program_name`, `group_name`, `host_node_name`, `process_num`,
 * `numprocs`, `ENV_X` (supervisord docs, "[program:x] Section Values").
 * `where` (file, line, section, key) is named in errors; without it only the value is.
 * @throws UsageError naming file, line, section, key and value for a lone `%` ("badly formatted":
 *   supervisord rejects the whole file), an unknown name, `%d` of a string, or a conversion other than
 *   s/d/i/u (`%r`, `%x`, … and unnamed `%s` are refused rather than imitated).
 */
export function expandPercent(value: string, vars: PercentVars, where?: IniLocation): string {
  const fail = (why: string) => iniError(where, value, why, 'write "%%" for a literal "%"');
  let out = "";
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== "%") {
      out += value[i];
      continue;
    }
    if (value[i + 1] === "%") {
      out += "%";
      i++;
      continue;
    }
    if (value[i + 1] !== "(")
      throw fail(
        `"%" at character ${i + 1} is not followed by "%" or "(name)": supervisord rejects the whole file ("badly formatted")`,
      );
    let depth = 1;
    let j = i + 2;
    for (; j < value.length && depth > 0; j++) depth += value[j] === "(" ? 1 : value[j] === ")" ? -1 : 0;
    if (depth > 0) throw fail(`unclosed "%(" at character ${i + 1}`);
    const name = value.slice(i + 2, j - 1);
    if (!Object.prototype.hasOwnProperty.call(vars, name)) {
      throw fail(`%(${name}) cannot be expanded; available names: ${Object.keys(vars).sort().join(", ")}`);
    }
    const spec = FORMAT_SPEC.exec(value.slice(j))!;
    const [whole, flags, width, precision, conversion] = spec;
    let text: string;
    const v = vars[name];
    if (conversion === "s") {
      text = String(v);
      if (precision !== undefined)
        text = Array.from(text)
          .slice(0, Number(precision || 0))
          .join("");
    } else if (conversion === "d" || conversion === "i" || conversion === "u") {
      if (typeof v !== "number")
        throw fail(`%(${name})${conversion} needs a number, but ${name} is the text ${JSON.stringify(v)}`);
      const digits = String(Math.abs(Math.trunc(v))).padStart(precision ? Number(precision) : 0, "0");
      const sign = v < 0 ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
      const zeroWidth = flags.includes("0") && !flags.includes("-") ? Number(width || 0) - sign.length : 0;
      text = sign + digits.padStart(zeroWidth, "0");
    } else {
      throw fail(
        conversion
          ? `conversion "%(${name})${conversion}" is not supported here (use s or d)`
          : `incomplete format after %(${name})`,
      );
    }
    const pad = Math.max(0, Number(width || 0) - Array.from(text).length);
    out += flags.includes("-") ? text + " ".repeat(pad) : " ".repeat(pad) + text;
    i = j + whole.length - 1;
  }
  return out;
}

const SHLEX_WORD = /^[A-Za-z0-9_]$/;
const SHLEX_SPACE = " \t\r\n";

/**
 * `command=` → argv, as supervisord does it: POSIX `shlex.split(value)` (Python docs "shlex — Simple
 * lexical analysis", posix mode, whitespace_split, no comments) on the `%`-expanded value. No shell:
 * `$HOME`, `~`, `*` stay literal; `'…'` is literal; in `"…"` a backslash escapes only `"` and `\`;
 * outside quotes a backslash escapes any character (a backslash-newline gives a newline).
 * @throws UsageError for an unclosed quote or a trailing backslash, as shlex's ValueError.
 */
export function splitCommand(value: string, where?: IniLocation): string[] {
  const argv: string[] = [];
  let token = "";
  let state = " ";
  let escaped = " ";
  for (const c of Array.from(value)) {
    if (state === " ") {
      if (SHLEX_SPACE.includes(c)) continue;
      if (c === "\\") [escaped, state] = ["a", "\\"];
      else if (c === "'" || c === '"') state = c;
      else [token, state] = [c, "a"];
    } else if (state === "'" || state === '"') {
      if (c === state) state = "a";
      else if (c === "\\" && state === '"') [escaped, state] = [state, "\\"];
      else token += c;
    } else if (state === "\\") {
      if ((escaped === "'" || escaped === '"') && c !== "\\" && c !== escaped) token += "\\";
      token += c;
      state = escaped;
    } else if (SHLEX_SPACE.includes(c)) {
      argv.push(token);
      [token, state] = ["", " "];
    } else if (c === "'" || c === '"') state = c;
    else if (c === "\\") [escaped, state] = ["a", "\\"];
    else token += c;
  }
  if (state === "'" || state === '"') throw iniError(where, value, `no closing ${state} quotation`, "close the quote");
  if (state === "\\") throw iniError(where, value, "a trailing backslash escapes nothing", "remove it or write \\\\");
  if (state === "a") argv.push(token); // a word in progress is never empty unless it was quoted ("")
  return argv;
}

/** Tokens of Python's NON-posix `shlex.shlex(value)` with `wordchars += '/.+-():'` (commenters `#`). */
function envTokens(value: string, where: IniLocation | undefined): string[] {
  const chars = Array.from(value);
  const isWord = (c: string) => SHLEX_WORD.test(c) || "/.+-():".includes(c);
  const tokens: string[] = [];
  let i = 0;
  const skipLine = () => {
    while (i < chars.length && chars[i++] !== "\n");
  };
  while (i < chars.length) {
    const c = chars[i++];
    if (SHLEX_SPACE.includes(c)) continue;
    if (c === "#") skipLine();
    else if (c === "'" || c === '"') {
      let token = c;
      while (i < chars.length && chars[i] !== c) token += chars[i++];
      if (i >= chars.length) throw iniError(where, value, `no closing ${c} quotation`, "close the quote");
      tokens.push(token + chars[i++]);
    } else if (!isWord(c)) tokens.push(c);
    else {
      let token = c;
      while (i < chars.length) {
        const d = chars[i];
        if (SHLEX_SPACE.includes(d)) break;
        i++;
        if (d === "#") skipLine();
        else if (isWord(d) || d === "'" || d === '"') token += d;
        else {
          tokens.push(token);
          token = d;
          break;
        }
      }
      tokens.push(token);
    }
  }
  return tokens;
}

/**
 * `environment=` → variables, exactly as supervisor's `dict_of_key_value_pairs` (datatypes.py) does it
 * on the `%`-expanded value: non-posix shlex tokens taken as `KEY = VALUE <any one separator token>`,
 * each value stripped of every `'` and `"` at both ends. Hence (docs/facts.md): backslashes are literal,
 * `A=http://x/p?q=1` unquoted yields A and q, `A=two words` silently drops "words", an unquoted `#`
 * starts a comment, and a later duplicate key wins. The quirks are kept: import keeps what ran.
 * @throws UsageError when the tokens do not form `KEY=VALUE` triples, or a quote is not closed.
 */
export function splitEnvironment(value: string, where?: IniLocation): Map<string, string> {
  const tokens = envTokens(value, where);
  const env = new Map<string, string>();
  for (let i = 0; i < tokens.length; i += 4) {
    const [key, eq, val] = tokens.slice(i, i + 3);
    if (val === undefined || eq !== "=") {
      throw iniError(
        where,
        value,
        `supervisord cannot read this: expected KEY=VALUE after ${JSON.stringify(tokens.slice(0, i).join(""))}`,
        'write KEY="value",KEY2="value2"',
      );
    }
    env.set(key, val.replace(/^['"]+|['"]+$/g, ""));
  }
  return env;
}
