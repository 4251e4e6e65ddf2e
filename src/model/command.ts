/**
 * A service's `command` string → argv, with POSIX shell quoting rules and no shell: quotes and
 * backslashes group words, nothing is expanded. Shell syntax that would need a shell to mean anything
 * (pipes, `;`, redirections, `$VAR`, globs, `~`) is refused with a message that says how to write it,
 * because neither supervisord (shlex, exec) nor systemd (ExecStart) would run it the way a shell does.
 */

/** Why a command string cannot be split, and where (0-based character offset). */
export class CommandSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly fix: string,
  ) {
    super(message);
  }
}

const SHELL_ONLY = new Set(["|", "&", ";", "<", ">", "(", ")", "`"]);
const GLOB = new Set(["*", "?", "["]);
const NEEDS_SHELL = 'no shell runs the command: write it as an argv array ["/bin/sh", "-c", "…"] if you need one';

/**
 * Splits a command into words (POSIX Shell Command Language §2.2 quoting, without expansions).
 * @throws CommandSyntaxError for an unterminated quote, a trailing backslash (POSIX sh would read on for
 * the escaped character) or shell-only syntax.
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0)
        throw new CommandSyntaxError(`unterminated single quote at character ${i + 1}`, i, "close the quote");
      word += command.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        const d = command[j];
        if (d === "\\" && j + 1 < command.length && '$`"\\\n'.includes(command[j + 1])) {
          if (command[j + 1] !== "\n") word += command[j + 1];
          j++;
        } else if (d === "$" || d === "`") {
          throw new CommandSyntaxError(
            `"${d}" inside double quotes at character ${j + 1} would be expanded by a shell`,
            j,
            `escape it as \\${d} or use single quotes; ${NEEDS_SHELL}`,
          );
        } else word += d;
      }
      if (j >= command.length)
        throw new CommandSyntaxError(`unterminated double quote at character ${i + 1}`, i, "close the quote");
      i = j;
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 >= command.length)
        throw new CommandSyntaxError(
          `the command ends in a backslash at character ${i + 1}, which escapes nothing`,
          i,
          "remove it, or quote it ('\\') if a literal backslash is meant",
        );
      if (command[i + 1] !== "\n") word += command[i + 1];
      i++;
      inWord = true;
    } else if (SHELL_ONLY.has(c) || c === "$") {
      throw new CommandSyntaxError(
        `shell syntax "${c}" at character ${i + 1}`,
        i,
        `quote it ('${c}') if it is a literal argument; ${NEEDS_SHELL}`,
      );
    } else if (GLOB.has(c) || (c === "~" && !inWord)) {
      throw new CommandSyntaxError(
        `"${c}" at character ${i + 1} is a shell ${c === "~" ? "home-folder" : "glob"} pattern and would stay literal`,
        i,
        `quote it ('${c}') if it is meant literally, or write the path out in full`,
      );
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * The placeholders replaced in commands and env values: `{port}`, `{host}`, `{name}`, `{instance}`, `{bind}`
 * (the address the program binds for its exposure: 127.0.0.1 or 0.0.0.0, src/model/edge.ts).
 */
export const PLACEHOLDERS = ["port", "host", "name", "instance", "bind"] as const;
/** The reference placeholders: `{port:NAME}` (instance 0's port of NAME) and `{url:NAME}` (`http://HOST:PORT`). */
export const REFERENCES = ["port", "url"] as const;

/**
 * One placeholder found in a string: `{key}` or `{key:arg}`; `{{key}}` is the literal text `{key}` and is
 * reported with `literal: true`. `offset` is the 0-based index of the opening brace.
 */
export interface PlaceholderMatch {
  text: string;
  key: string;
  arg?: string;
  literal: boolean;
  offset: number;
}

const PLACEHOLDER = /\{\{([a-z_]+(?::[^{}\s]*)?)\}\}|\{([a-z_]+)(?::([^{}\s]*))?\}/g;

/** Every `{key}`, `{key:arg}` and `{{…}}` of `text`, left to right. */
export function findPlaceholders(text: string): PlaceholderMatch[] {
  const out: PlaceholderMatch[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m[1] !== undefined) out.push({ text: m[0], key: m[1].split(":")[0], literal: true, offset: m.index ?? 0 });
    else out.push({ text: m[0], key: m[2], arg: m[3], literal: false, offset: m.index ?? 0 });
  }
  return out;
}

/** What {@link fillPlaceholders} replaces; a placeholder whose value is unknown is left as written. */
export interface PlaceholderValues {
  port?: number;
  host: string;
  name: string;
  /** `{instance}`: 0-based index of the instance (absent: left as written). */
  instance?: number;
  /** `{bind}`: the address to bind (default 127.0.0.1, loopback exposure). */
  bind?: string;
  /** `{port:NAME}` / `{url:NAME}`: the text to put in, or undefined when NAME has no port. */
  reference?: (kind: "port" | "url", name: string) => string | undefined;
}

/**
 * Replaces `{port}`, `{host}`, `{name}`, `{instance}`, `{port:NAME}`, `{url:NAME}` in one string, and
 * `{{key}}` by the literal `{key}`. Anything it cannot fill (`{port}` without a port, an unknown key) is
 * left as written for validation to refuse.
 */
export function fillPlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(PLACEHOLDER, (whole, literal: string | undefined, key: string, arg: string | undefined) => {
    if (literal !== undefined) return `{${literal}}`;
    if (arg !== undefined) {
      if (key !== "port" && key !== "url") return whole;
      return values.reference?.(key, arg) ?? whole;
    }
    switch (key) {
      case "port":
        return values.port === undefined ? whole : String(values.port);
      case "host":
        return values.host;
      case "name":
        return values.name;
      case "instance":
        return values.instance === undefined ? whole : String(values.instance);
      case "bind":
        return values.bind ?? "127.0.0.1";
      default:
        return whole;
    }
  });
}
