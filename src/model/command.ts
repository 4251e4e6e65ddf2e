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
 * @throws CommandSyntaxError for an unterminated quote or shell-only syntax.
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
      if (i + 1 < command.length && command[i + 1] !== "\n") word += command[i + 1];
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

/** The placeholders replaced in commands and env values: `{port}`, `{host}`, `{name}`, `{bind}` (the address to bind). */
export const PLACEHOLDERS = ["port", "host", "name", "bind"] as const;

/**
 * Replaces `{port}`, `{host}`, `{name}` and `{bind}` in one string. `{port}` with no port is left for validation
 * to refuse; `{bind}` is the address the program binds for its exposure (127.0.0.1 or 0.0.0.0, src/model/edge.ts).
 */
export function fillPlaceholders(
  text: string,
  values: { port?: number; host: string; name: string; bind?: string },
): string {
  return text.replace(/\{(port|host|name|bind)\}/g, (whole, key: string) => {
    if (key === "port") return values.port === undefined ? whole : String(values.port);
    if (key === "bind") return values.bind ?? "127.0.0.1";
    return key === "host" ? values.host : values.name;
  });
}
