/**
 * Does the text just before a number make it a port? These rules read one line, left of the number,
 * and name the construct they recognised (shown in the finding's message).
 */
import type { Family } from "./syntax";

/** Splits an identifier into lower-case words: `SERVICE_PORT` → service, port; `httpPort` → http, port. */
export function identifierWords(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
}

/** `port`, `SERVICE_PORT`, `--port`, `httpPort`; not `port_count`, `PORT_TIMEOUT`, `num_ports`, `report`. */
function isPortName(identifier: string): boolean {
  const words = identifierWords(identifier);
  return (
    words.some((w) => w === "port" || w === "ports") && !words.some((w) => NOT_PORT_WORDS.has(w) || COUNTING.has(w))
  );
}
const COUNTING = new Set(["num", "n", "nr", "index", "idx"]);

// `port = 8080`, `"port": 8001`, `port_number: int = 8000`, `--port 8082`, `--port=8082`, `{port: 3000}`,
// `PORT ?? 3000`, `os.environ.get("PORT", 8007)`, `${PORT:-8080}`, `Number(process.env.PORT) || 3000`.
const ASSIGNED =
  /(?<![\w$.-])(-{0,2}[A-Za-z_$][\w$.-]*)["'\]]?\)*(?:\s*:\s*[A-Za-z_][\w.[\]]*)?\s*(=|==|===|!=|:=|=>|:|\?\?|\|\||,|:-|\s)\s*["'([{]*\s*$/;
// `parseInt(process.env.PORT, 10)`: the radix is not a port.
const RADIX = /\bparseInt\s*\([^()]*(?:\([^()]*\))?[^()]*,\s*$/;
// `.listen(3000`, `.listen(8080, "0.0.0.0"` (not Python: there `sock.listen(100)` is the backlog).
const LISTEN = /\blisten\s*\(\s*(?:[\w."'[\]]+\s*,\s*)?$/i;
// `bind(("0.0.0.0", 8000))`, `sock.bind(('', 8000))`, `HTTPServer(("", 8000), H)`, `make_server('', 8000, app)`.
const BIND =
  /\b(?:bind|create_server|make_server|start_server|run_simple|serve|\w*TCPServer|\w*HTTPServer)\s*\(\s*\(?\s*(?:[\w."'[\]]*\s*,\s*){0,2}$/;
// `localhost:8001`, `127.0.0.1:8000`, `[::1]:3000`, `api.example.com:8080`, `http://redis:6379`,
// `${host}:8080` / f"{host}:8080", `":8080"` (Go's listen address), `lsof -i :8007`.
const HOST_PORT =
  /(?:\blocalhost|\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]*\]|\b(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}|:\/\/[\w.-]+|\}|(?:^|[\s(,=[{])["'`]|\s):$/;

/**
 * What makes the number right after `before` a port, as words for the finding's message ("after PORT",
 * "in a listen() call", "in a bind/server address", "in a host:port address"), or undefined when
 * nothing in front of it says "port".
 */
export function portContext(before: string, family: Family): string | undefined {
  const assigned = ASSIGNED.exec(before);
  if (assigned && isPortName(assigned[1]) && !(assigned[2] === "," && RADIX.test(before))) {
    return `after ${assigned[1].replace(/^[\w$]+\./, "")}`;
  }
  if (family !== "python" && LISTEN.test(before)) return "in a listen() call";
  if (BIND.test(before)) return "in a bind/server address";
  if (HOST_PORT.test(before)) return "in a host:port address";
  return undefined;
}

// Words that make a number a duration, size, count or amount, not a port: `setTimeout(poll, 3000)`,
// `time.sleep(4000)`, `max_retries = 8001`, `CACHE_TTL = 3000`, `performance.now() + 3000`, `tailLog(name, 4000)`.
const NOT_PORT_WORDS = new Set([
  "timeout",
  "timeouts",
  "time",
  "sleep",
  "delay",
  "interval",
  "wait",
  "retry",
  "retries",
  "backoff",
  "ttl",
  "size",
  "bytes",
  "limit",
  "max",
  "min",
  "count",
  "width",
  "height",
  "len",
  "length",
  "ms",
  "millis",
  "milliseconds",
  "sec",
  "secs",
  "seconds",
  "year",
  "years",
  "amount",
  "price",
  "qty",
  "quantity",
  "total",
  "balance",
  "budget",
  "chunk",
  "buffer",
  "batch",
  "rows",
  "lines",
  "pages",
  "step",
  "steps",
  "rate",
  "tail",
  "now",
  "deadline",
  "elapsed",
  "duration",
  "expires",
  "expiry",
  "until",
  "poll",
]);

/** True when a word in the ~40 characters before the number marks it as a duration, size or count. */
export function looksLikeNonPort(before: string): boolean {
  const window = before.slice(-40);
  const identifiers = window.match(/[A-Za-z_$][\w$]*/g) ?? [];
  return identifiers.some((id) => identifierWords(id).some((w) => NOT_PORT_WORDS.has(w)));
}
