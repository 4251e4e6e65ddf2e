/**
 * The port a program listens on, found in its argv the way people write it: `--port N`, `--port=N`,
 * `-p N`, `-pN`, `-b`/`--bind HOST:PORT`, `--bind=HOST:PORT`, `--listen`/`--inet [HOST:]PORT`, `--http-port`,
 * a bare `HOST:PORT` or `PORT` argument of gunicorn, uvicorn, daphne, granian and Django's runserver,
 * and the same forms inside a `bash -c`/`sh -c` script. A match says which argv word holds it and where,
 * so that the word can be rewritten with `{port}`.
 */

/** Where a port was found: argv[`word`] characters `start`..`end` are the digits. */
export interface PortMatch {
  port: number;
  word: number;
  start: number;
  end: number;
  /** How it was found, for the report: "--port 8000", "HOST:PORT of gunicorn -b", … */
  form: string;
}

const isPort = (text: string) => /^\d{1,5}$/.test(text) && +text >= 1 && +text <= 65535;
const SERVERS = /^(gunicorn|uvicorn|daphne|granian|hypercorn)$/;
const VALUE_FLAGS = /^(--port|-p|--http-port|--listen|--inet|-b|--bind|--host-port)$/;

/** The port inside one flag value: `8000`, `HOST:8000`, `[::]:8000`, `unix:…` (none). */
function inValue(value: string): { start: number; end: number } | undefined {
  if (isPort(value)) return { start: 0, end: value.length };
  const m = /^(?:[\w.-]*|\[[0-9a-fA-F:.]*\]|\*):(\d{1,5})$/.exec(value);
  if (m && isPort(m[1]) && !value.startsWith("unix:")) return { start: value.length - m[1].length, end: value.length };
  return undefined;
}

/** Runs detection on argv words (no shell). */
function inWords(argv: string[]): PortMatch | undefined {
  const base = (w: string) => w.split("/").pop() ?? "";
  const server =
    argv.findIndex((w) => SERVERS.test(base(w))) !== -1 ||
    argv.some((w, i) => w === "-m" && SERVERS.test(argv[i + 1] ?? "")) ||
    argv.includes("runserver");
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const eq = /^(--port|--bind|--listen|--inet|--http-port|-b|-p)=(.*)$/.exec(w);
    if (eq) {
      const hit = inValue(eq[2]);
      if (hit)
        return {
          port: +eq[2].slice(hit.start, hit.end),
          word: i,
          start: eq[1].length + 1 + hit.start,
          end: eq[1].length + 1 + hit.end,
          form: `${eq[1]}=`,
        };
    }
    if (VALUE_FLAGS.test(w) && argv[i + 1] !== undefined) {
      if ((w === "-p" || w === "-b") && !server && !/^\d|:/.test(argv[i + 1])) continue;
      const hit = inValue(argv[i + 1]);
      if (hit) return { port: +argv[i + 1].slice(hit.start, hit.end), word: i + 1, ...hit, form: `${w} N` };
    }
    const glued = /^-p(\d{1,5})$/.exec(w);
    if (glued && isPort(glued[1])) return { port: +glued[1], word: i, start: 2, end: w.length, form: "-pN" };
    if (argv[i - 1] === "runserver" || (server && i > 0 && !w.startsWith("-") && !VALUE_FLAGS.test(argv[i - 1]))) {
      const m = /^(?:[\w.-]+|\[[0-9a-fA-F:.]*\]):(\d{1,5})$/.exec(w);
      if (m && isPort(m[1]))
        return { port: +m[1], word: i, start: w.length - m[1].length, end: w.length, form: "HOST:PORT" };
      if (argv[i - 1] === "runserver" && isPort(w))
        return { port: +w, word: i, start: 0, end: w.length, form: "runserver PORT" };
    }
  }
  return undefined;
}

/**
 * The first port found in argv, or in the script of `sh -c`/`bash -c` (the script split at whitespace
 * for detection only; the match then points into the script word).
 */
export function findPort(argv: string[]): PortMatch | undefined {
  const direct = inWords(argv);
  if (direct) return direct;
  const c = argv.findIndex((w, i) => i > 0 && /^-[a-z]*c$/.test(w) && /(^|\/)(ba|da|z)?sh$/.test(argv[0]));
  if (c === -1 || argv[c + 1] === undefined) return undefined;
  const script = argv[c + 1];
  const words: Array<{ text: string; at: number }> = [];
  for (const m of script.matchAll(/[^\s;&|()'"`]+/g)) words.push({ text: m[0], at: m.index ?? 0 });
  const hit = inWords(words.map((w) => w.text));
  if (!hit) return undefined;
  const at = words[hit.word].at;
  return { ...hit, word: c + 1, start: at + hit.start, end: at + hit.end, form: `${hit.form} in sh -c` };
}
