/**
 * Just enough of each language's lexical syntax to tell comments from code and strings, so the
 * hardcoded-port lint can leave `# runs on 8007` alone while still reading `"http://localhost:8007"`.
 * Not a parser: regex literals, heredocs and nested comments are not modelled.
 */

/** Language family: decides comment syntax and the "read PORT" advice in a finding's fix. */
export type Family = "python" | "js" | "shell" | "go" | "ruby" | "c-like" | "php" | "other";

interface Syntax {
  /** Line comment openers. */
  line: string[];
  block?: [string, string];
  /** `'''`/`"""` strings spanning lines (Python). */
  triple: boolean;
  /** Backtick strings spanning lines (JS template literals, Go raw strings). */
  backtick: boolean;
  /** `#` opens a comment only at the start of a word (shell: `$#`, `${#a}` are code). */
  hashAtWordStart: boolean;
  /** Backslash escapes inside single quotes (false in shell). */
  singleQuoteEscapes: boolean;
}

const EXTENSIONS: Record<string, Family> = {
  py: "python",
  pyw: "python",
  js: "js",
  mjs: "js",
  cjs: "js",
  jsx: "js",
  ts: "js",
  mts: "js",
  cts: "js",
  tsx: "js",
  sh: "shell",
  bash: "shell",
  zsh: "shell",
  ksh: "shell",
  go: "go",
  rb: "ruby",
  php: "php",
  java: "c-like",
  kt: "c-like",
  kts: "c-like",
  scala: "c-like",
  swift: "c-like",
  cs: "c-like",
  c: "c-like",
  h: "c-like",
  cc: "c-like",
  cpp: "c-like",
  hpp: "c-like",
  rs: "c-like",
  dart: "c-like",
  pl: "ruby",
  pm: "ruby",
  ex: "ruby",
  exs: "ruby",
  r: "ruby",
  lua: "other",
};

const SYNTAX: Record<Family, Syntax> = {
  python: { line: ["#"], triple: true, backtick: false, hashAtWordStart: false, singleQuoteEscapes: true },
  js: {
    line: ["//"],
    block: ["/*", "*/"],
    triple: false,
    backtick: true,
    hashAtWordStart: false,
    singleQuoteEscapes: true,
  },
  shell: { line: ["#"], triple: false, backtick: false, hashAtWordStart: true, singleQuoteEscapes: false },
  go: {
    line: ["//"],
    block: ["/*", "*/"],
    triple: false,
    backtick: true,
    hashAtWordStart: false,
    singleQuoteEscapes: true,
  },
  ruby: { line: ["#"], triple: false, backtick: false, hashAtWordStart: false, singleQuoteEscapes: true },
  "c-like": {
    line: ["//"],
    block: ["/*", "*/"],
    triple: false,
    backtick: false,
    hashAtWordStart: false,
    singleQuoteEscapes: true,
  },
  php: {
    line: ["//", "#"],
    block: ["/*", "*/"],
    triple: false,
    backtick: false,
    hashAtWordStart: false,
    singleQuoteEscapes: true,
  },
  other: { line: [], triple: false, backtick: false, hashAtWordStart: false, singleQuoteEscapes: true },
};

/** The language family of a file, by extension, else by its `#!` line; "other" when unknown. */
export function familyOf(path: string, text: string): Family {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext && EXTENSIONS[ext]) return EXTENSIONS[ext];
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text);
  if (!shebang) return "other";
  const program = (shebang[1].endsWith("/env") ? (shebang[2] ?? "") : shebang[1]).split("/").pop() ?? "";
  if (/^python/.test(program)) return "python";
  if (/^(node|deno|bun|tsx|ts-node)$/.test(program)) return "js";
  if (/^(ruby|perl)/.test(program)) return "ruby";
  if (/^(php)/.test(program)) return "php";
  return "shell";
}

const WORD_BOUNDARY = /[\s;|&(){}]/;

/**
 * Marks every character of `text` that lies inside a comment (1) or not (0). Strings count as code:
 * a port inside a URL string is as hardcoded as a bare number.
 */
export function commentMask(text: string, family: Family): Uint8Array {
  const syntax = SYNTAX[family];
  const mask = new Uint8Array(text.length);
  let i = 0;
  const startsWith = (token: string) => text.startsWith(token, i);
  while (i < text.length) {
    const ch = text[i];
    if (syntax.block && startsWith(syntax.block[0])) {
      const end = text.indexOf(syntax.block[1], i + syntax.block[0].length);
      const stop = end < 0 ? text.length : end + syntax.block[1].length;
      mask.fill(1, i, stop);
      i = stop;
      continue;
    }
    const lineOpener = syntax.line.find((token) => startsWith(token));
    if (lineOpener && !(lineOpener === "#" && syntax.hashAtWordStart && i > 0 && !WORD_BOUNDARY.test(text[i - 1]))) {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      mask.fill(1, i, stop);
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'" || (ch === "`" && syntax.backtick)) {
      i = skipString(text, i, syntax);
      continue;
    }
    i++;
  }
  return mask;
}

/** Index just past the string literal opening at `start`. One-line strings end at the line's end. */
function skipString(text: string, start: number, syntax: Syntax): number {
  const ch = text[start];
  const triple = syntax.triple && text.startsWith(ch.repeat(3), start);
  const close = triple ? ch.repeat(3) : ch;
  const multiline = triple || ch === "`";
  const escapes = ch !== "'" || syntax.singleQuoteEscapes;
  let i = start + close.length;
  while (i < text.length) {
    if (escapes && text[i] === "\\") {
      i += 2;
      continue;
    }
    if (text.startsWith(close, i)) return i + close.length;
    if (text[i] === "\n" && !multiline) return i;
    i++;
  }
  return i;
}
