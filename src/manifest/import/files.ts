/**
 * The files supervisord reads for one configuration: the main file, then every file its `[include]
 * files=` names, exactly as supervisor 4.2.5 options.py `ServerOptions.process_config_file` does it:
 * `files=` is %-expanded (`%(here)s`, `%(host_node_name)s`, `%(ENV_X)s`), split at whitespace, each
 * pattern joined to the MAIN file's folder and globbed (Python `glob.glob`: `*`, `?`, `[…]` per path
 * segment, hidden names only matched by a pattern starting with `.`), matches read in sorted order; a
 * pattern with no match is a warning; `%(here)s` in an included file means that file's folder. Included
 * files cannot include further files (their `[include]` is not followed). Sections of the same name are
 * merged, a later key winning (configparser `strict=False`); a `[DEFAULT]` section applies to the file it is in
 * (configparser shares it across files: not imitated). Source: supervisord docs "[include] Section
 * Settings", supervisor options.py.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { expandPercent, readIni, type IniSection, type PercentVars } from "../ini-reader";

/** One key as supervisord sees it, with the file and line it came from. */
export interface SourcedEntry {
  value: string;
  line: number;
  file: string;
}

/** One merged section: `file`/`line` of its first header. */
export interface SourcedSection {
  name: string;
  file: string;
  line: number;
  entries: Map<string, SourcedEntry>;
}

/** What reading the files gave: sections, the files read, warnings, and problems supervisord would refuse. */
export interface ConfigFiles {
  sections: SourcedSection[];
  files: string[];
  warnings: string[];
  problems: string[];
}

/** How files are read and listed (tests pass an in-memory tree; default: the file system). */
export interface FileSource {
  read(path: string): string;
  list(folder: string): string[];
}

export const diskFiles: FileSource = {
  read: (path) => readFileSync(path, "utf8"),
  list: (folder) => {
    try {
      return readdirSync(folder);
    } catch {
      return [];
    }
  },
};

const HERE = "%(here)s";

/** Python `fnmatch` of one path segment (case-sensitive, as on POSIX). */
function segmentMatcher(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/** Python `glob.glob(pattern)` for an absolute pattern: the matching paths (unsorted). */
export function glob(pattern: string, fs: FileSource): string[] {
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  let paths = [parts[0] === "" ? "/" : parts[0]];
  for (const part of parts.slice(1)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!/[*?[]/.test(part)) {
        const candidate = join(base, part);
        const parent = fs.list(base);
        if (parent.includes(part) || part === "." || part === "..") next.push(candidate);
        continue;
      }
      const re = segmentMatcher(part);
      for (const name of fs.list(base))
        if ((!name.startsWith(".") || part.startsWith(".")) && re.test(name)) next.push(join(base, name));
    }
    paths = next;
  }
  return paths;
}

function readOne(path: string, fs: FileSource, out: ConfigFiles): IniSection[] {
  let text: string;
  try {
    text = fs.read(path);
  } catch (e) {
    out.problems.push(`${path}: cannot read it: ${(e as Error).message}`);
    return [];
  }
  try {
    return readIni(text, path);
  } catch (e) {
    out.problems.push((e as Error).message);
    return [];
  }
}

function merge(into: Map<string, SourcedSection>, sections: IniSection[], file: string): void {
  const here = dirname(file);
  for (const s of sections) {
    let target = into.get(s.name);
    if (!target) into.set(s.name, (target = { name: s.name, file, line: s.line, entries: new Map() }));
    for (const [key, e] of s.entries)
      target.entries.set(key, { value: e.value.split(HERE).join(here), line: e.line, file });
  }
}

/**
 * Reads `mainFile` and what its `[include]` names. `vars` are the expansions for `files=` (here,
 * host_node_name and ENV_X). Never throws for the configuration's content: every refusal goes to
 * `problems` (file:line and why), every supervisord warning to `warnings`.
 */
export function readConfigFiles(mainFile: string, vars: PercentVars, fs: FileSource = diskFiles): ConfigFiles {
  const main = resolve(mainFile);
  const out: ConfigFiles = { sections: [], files: [main], warnings: [], problems: [] };
  const merged = new Map<string, SourcedSection>();
  const mainSections = readOne(main, fs, out);
  merge(merged, mainSections, main);
  const include = merged.get("include");
  if (include) {
    const files = include.entries.get("files");
    if (!files)
      out.problems.push(
        `${include.file}:${include.line}: [include] has no files= (supervisord refuses it: ".ini file has [include] section, but no files setting"); add files = conf.d/*.conf or remove the section`,
      );
    else {
      let patterns: string[] = [];
      try {
        const where = { file: files.file, line: files.line, section: "include", key: "files" };
        patterns = expandPercent(files.value, vars, where)
          .split(/\s+/)
          .filter((p) => p);
      } catch (e) {
        out.problems.push((e as Error).message);
      }
      for (const p of patterns) {
        const pattern = isAbsolute(p) ? p : join(dirname(main), p);
        const found = glob(pattern, fs).sort();
        if (found.length === 0)
          out.warnings.push(`[include] files=: no file matches ${pattern} (supervisord warns too)`);
        for (const f of found) {
          out.files.push(f);
          merge(merged, readOne(f, fs, out), f);
        }
      }
    }
  }
  out.sections = [...merged.values()];
  return out;
}
