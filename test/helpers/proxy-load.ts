/**
 * Load through the private nginx for the rolling-restart e2e files: one request at a time per keep-alive
 * connection, counting answers, failures and the requests a client would retry. Traffic to 127.0.0.1 only.
 */
import http from "node:http";

/** What one request through the proxy gave: status and the answering instance's pid (echo-http.js's JSON). */
export interface ProxyAnswer {
  status: number;
  pid?: number;
  /**
   * the connection closed before any byte of an answer came back: a kept-alive connection nginx closed (at a
   * reload its old workers close idle client connections); a client retries such an idempotent request
   * (RFC 9112 §9.3.1 "Retrying Requests"; Node docs, http `request.reusedSocket`). Counted apart, not failed.
   */
  reused?: boolean;
}

/**
 * One request to 127.0.0.1:`port`. Anything but an answer or a {@link ProxyAnswer.reused} close — a refused
 * connection, a reset after part of an answer — rejects.
 */
export function proxyRequest(
  port: number,
  agent: http.Agent | false,
  method = "GET",
  path = "/",
): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        let pid: number | undefined;
        try {
          pid = (JSON.parse(text) as { pid: number }).pid;
        } catch {
          /* an nginx error page */
        }
        resolve({ status: res.statusCode!, pid });
      });
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      e.code === "ECONNRESET" || /socket hang up/.test(e.message) ? resolve({ status: 0, reused: true }) : reject(e),
    );
    req.end();
  });
}

/** What {@link loadDuring} counted. `pids`: the instances that answered 200. */
export interface LoadResult<T> {
  result: T;
  ok: number;
  failed: string[];
  retried: number;
  pids: Set<number>;
}

/**
 * GETs / through the proxy on `concurrency` keep-alive connections until `until` settles (at most `limitMs`,
 * so a hung restart cannot hang the test); a non-200 answer or an error is a failure.
 */
export async function loadDuring<T>(
  port: number,
  until: Promise<T>,
  options: { concurrency?: number; limitMs?: number } = {},
): Promise<LoadResult<T>> {
  const concurrency = options.concurrency ?? 8;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let done = false;
  const load: Omit<LoadResult<T>, "result"> = { ok: 0, failed: [], retried: 0, pids: new Set() };
  const deadline = Date.now() + (options.limitMs ?? 90_000);
  const worker = async () => {
    while (!done && Date.now() < deadline) {
      try {
        const r = await proxyRequest(port, agent);
        if (r.reused) load.retried++;
        else if (r.status === 200) {
          load.ok++;
          if (r.pid) load.pids.add(r.pid);
        } else load.failed.push(`HTTP ${r.status}`);
      } catch (e) {
        load.failed.push(String((e as Error).message));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const result = await until.finally(() => (done = true));
  await Promise.all(workers);
  agent.destroy();
  return { result, ...load };
}
