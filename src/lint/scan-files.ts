/**
 * Collects the source files the hardcoded-port lint reads: walks folders (sorted, so output is stable),
 * keeps source files by extension or `#!` line, and skips dependency, build, log and generated folders.
 * Reads only; never follows symlinked folders (no loops).
 */
import { closeSync, lstatSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../errors";

/** A file to lint: its path as the user will see it (relative when given relative) and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

/** Options of {@link collectSourceFiles}. */
export interface CollectOptions {
  /** Folder that relative paths are resolved against (default: the process's working folder). */
  cwd?: string;
  /** Larger files are skipped (default 1 MiB): minified bundles and data, not hand-written code. */
  maxBytes?: number;
  /** Extensions read inside folders, without the dot (default {@link SOURCE_EXTENSIONS}). */
  extensions?: readonly string[];
  /** Folder names never entered (default {@link SKIPPED_FOLDERS}). */
  skipFolders?: readonly string[];
  /** Told about every file left out and why ("too large", "binary"). */
  onSkip?: (path: string, reason: string) => void;
}

/** Extensions of source files read inside folders. Files without an extension are read when they start with `#!`. */
export const SOURCE_EXTENSIONS: readonly string[] = [
  "py",
  "pyw",
  "js",
  "mjs",
  "cjs",
  "jsx",
  "ts",
  "mts",
  "cts",
  "tsx",
  "sh",
  "bash",
  "zsh",
  "ksh",
  "go",
  "rb",
  "php",
  "java",
  "kt",
  "kts",
  "scala",
  "swift",
  "cs",
  "c",
  "h",
  "cc",
  "cpp",
  "hpp",
  "rs",
  "dart",
  "pl",
  "pm",
  "ex",
  "exs",
  "lua",
];

/** Folders never entered: dependencies, virtualenvs, caches, build output, and orchestrate's own logs/, run/, units/. */
export const SKIPPED_FOLDERS: readonly string[] = [
  "node_modules",
  ".git",
  ".hg",
  ".svn",
  "venv",
  ".venv",
  "virtualenv",
  "site-packages",
  "__pycache__",
  ".mypy_cache",
  ".pytest_cache",
  ".ruff_cache",
  ".tox",
  ".nox",
  ".cache",
  "dist",
  "build",
  "coverage",
  ".next",
  ".nuxt",
  "target",
  "vendor",
  "logs",
  "run",
  "units",
];

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * The source files under `paths` (files or folders). A file named explicitly is read whatever its
 * extension; inside folders only source files are. A path that does not exist is bad input (exit 2).
 */
export function collectSourceFiles(paths: readonly string[], options: CollectOptions = {}): SourceFile[] {
  const cwd = options.cwd ?? process.cwd();
  const extensions = new Set(options.extensions ?? SOURCE_EXTENSIONS);
  const skipped = new Set(options.skipFolders ?? SKIPPED_FOLDERS);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const seen = new Set<string>();
  const files: SourceFile[] = [];

  const read = (shown: string, absolute: string, size: number) => {
    if (seen.has(absolute)) return;
    seen.add(absolute);
    if (size > maxBytes) return options.onSkip?.(shown, `too large (${size} bytes > ${maxBytes})`);
    const text = readFileSync(absolute, "utf8");
    if (text.includes("\0")) return options.onSkip?.(shown, "binary");
    files.push({ path: shown, text });
  };

  const walk = (shown: string, absolute: string) => {
    for (const name of readdirSync(absolute).sort()) {
      const childShown = shown === "." ? name : join(shown, name);
      const childAbsolute = join(absolute, name);
      const stat = lstatSync(childAbsolute);
      if (stat.isDirectory()) {
        if (!skipped.has(name)) walk(childShown, childAbsolute);
      } else if (stat.isFile() && isSource(name, childAbsolute, extensions)) {
        read(childShown, childAbsolute, stat.size);
      }
    }
  };

  for (const path of paths) {
    const absolute = resolve(cwd, path);
    let stat;
    try {
      stat = statSync(absolute);
    } catch {
      throw new UsageError(
        `lint: expected a file or folder at ${path}, found nothing there`,
        "give existing files or folders, e.g. orchestrate lint services/",
      );
    }
    if (stat.isDirectory()) walk(path.replace(/\/+$/, "") || "/", absolute);
    else read(path, absolute, stat.size);
  }
  return files;
}

/** A source file by extension; without an extension, a script with a `#!` line. */
function isSource(name: string, absolute: string, extensions: ReadonlySet<string>): boolean {
  const dot = name.lastIndexOf(".");
  if (dot > 0) return extensions.has(name.slice(dot + 1).toLowerCase());
  if (dot === 0) return false; // dotfiles: .env, .npmrc … are configuration, not code
  const head = Buffer.alloc(2);
  const fd = openSync(absolute, "r");
  try {
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString() === "#!";
  } finally {
    closeSync(fd);
  }
}
