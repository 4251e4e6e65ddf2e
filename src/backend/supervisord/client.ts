/**
 * XML-RPC client for the private supervisord: POST /RPC2 over its unix socket with a keep-alive agent
 * (docs/facts.md: ~0.6 ms a warm call, against ~125 ms for `supervisorctl status`). Methods and faults: the
 * supervisord docs, "XML-RPC API Documentation".
 */
import { Agent, request } from "node:http";
import { OperationError } from "../../errors";
import { Faults, faultName, type FaultName } from "./states";
import { decodeResponse, encodeCall, XmlRpcDecodeError, type XmlRpcValue } from "./xmlrpc";

const FAULT_HINTS: Partial<Record<FaultName | "UNKNOWN", string>> = {
  NO_FILE:
    "the program's command (argv[0]) does not exist: fix `command` in manifest.json, then `orchestrate generate`",
  NOT_EXECUTABLE: "the program's command (argv[0]) is not executable: `chmod +x` it or fix `command` in manifest.json",
  SHUTDOWN_STATE: "supervisord is shutting down: run the command again once it has stopped",
  SPAWN_ERROR: "the program exited during start: `orchestrate logs NAME` shows why",
};

/** A fault returned by supervisord, e.g. code 10 `BAD_NAME` for an unknown program. */
export class SupervisorFault extends OperationError {
  /** The fault name for `code` (supervisor/xmlrpc.py), or `UNKNOWN`. */
  readonly faultName: FaultName | "UNKNOWN";
  constructor(
    readonly code: number,
    /** supervisord's faultString, e.g. `BAD_NAME: web`. */
    readonly faultString: string,
    readonly method: string,
  ) {
    const name = faultName(code);
    super(`supervisord refused ${method}: ${faultString || name} (fault ${code} ${name})`, FAULT_HINTS[name]);
    this.faultName = name;
  }

  /** Whether this fault is `name` (e.g. `fault.is("ALREADY_STARTED")`). */
  is(name: FaultName): boolean {
    return this.code === Faults[name];
  }
}

/** Why supervisord could not be reached: no socket file, nobody listening, no answer in time, other. */
export type ConnectionFailure = "no-socket" | "refused" | "timeout" | "other";

/** supervisord is not reachable on its socket (ENOENT, ECONNREFUSED, a timeout, a reset connection). */
export class SupervisorConnectionError extends OperationError {
  constructor(
    readonly reason: ConnectionFailure,
    readonly socketPath: string,
    readonly method: string,
    /** What happened, without the socket and method, e.g. `no answer within 2000 ms`. */
    readonly detail: string,
  ) {
    super(
      `supervisord did not answer ${method} on ${socketPath}: ${detail}`,
      reason === "timeout"
        ? "supervisord may be hung: `orchestrate recover` stops it and its programs"
        : "start it with `orchestrate restart`",
    );
  }
}

/** supervisord answered, but not with XML-RPC (an HTTP error status or an undecodable body). */
export class SupervisorProtocolError extends OperationError {
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(`supervisord answered ${method} with something other than XML-RPC: ${detail}`);
  }
}

/** Options of {@link SupervisorRpc}. */
export interface SupervisorRpcOptions {
  /** Absolute path of the unix socket (ProjectPaths.socket). */
  socketPath: string;
  /** Default time in ms to wait for an answer before failing with reason `timeout`; default 5000. */
  timeoutMs?: number;
}

/** One call of a {@link SupervisorRpc.multicall}. */
export interface RpcCall {
  method: string;
  params?: XmlRpcValue[];
}

/** The outcome of one call of a multicall: its value, or the fault it raised. */
export type MulticallResult = { ok: true; value: XmlRpcValue } | { ok: false; fault: SupervisorFault };

function isFaultStruct(value: XmlRpcValue): value is { faultCode: number; faultString: string } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 2 && typeof value.faultCode === "number" && typeof value.faultString === "string";
}

/** A client of one supervisord. Reuses connections; call {@link close} when done to free them. */
export class SupervisorRpc {
  readonly socketPath: string;
  readonly timeoutMs: number;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(options: SupervisorRpcOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /**
   * Calls `method` (e.g. `supervisor.getState`) with positional params and returns its value.
   * @throws SupervisorFault, SupervisorConnectionError, SupervisorProtocolError
   */
  call<T = XmlRpcValue>(method: string, ...params: XmlRpcValue[]): Promise<T> {
    return this.request<T>(method, params);
  }

  /**
   * Like {@link call}, with a per-call timeout in ms — for calls that wait on supervisord, such as
   * `stopProcess(name, true)`, which answers only once the program has stopped.
   */
  async request<T = XmlRpcValue>(
    method: string,
    params: XmlRpcValue[],
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    const body = await this.post(method, encodeCall(method, params), options.timeoutMs ?? this.timeoutMs);
    let decoded;
    try {
      decoded = decodeResponse(body);
    } catch (err) {
      if (err instanceof XmlRpcDecodeError) throw new SupervisorProtocolError(method, err.message);
      throw err;
    }
    if (decoded.kind === "fault") throw new SupervisorFault(decoded.code, decoded.message, method);
    return decoded.value as T;
  }

  /**
   * Runs several calls in one round trip (`system.multicall`); each result is a value or a fault, in order.
   * supervisord (4.2.5, supervisor/xmlrpc.py `multicall`) returns each value as is — NOT wrapped in a
   * one-item array as its docstring and the common multicall convention say — and a fault as a
   * `{faultCode, faultString}` struct, which is how the two are told apart here.
   * @throws SupervisorConnectionError, SupervisorProtocolError when the round trip itself fails.
   */
  async multicall(calls: RpcCall[], options: { timeoutMs?: number } = {}): Promise<MulticallResult[]> {
    const payload = calls.map((c) => ({ methodName: c.method, params: c.params ?? [] }));
    const results = await this.request<XmlRpcValue[]>("system.multicall", [payload], options);
    return results.map((result, i): MulticallResult => {
      if (isFaultStruct(result)) {
        return { ok: false, fault: new SupervisorFault(result.faultCode, result.faultString, calls[i].method) };
      }
      return { ok: true, value: result };
    });
  }

  /** Closes pooled connections. The client stays usable (a later call opens a new one). */
  close(): void {
    this.agent.destroy();
  }

  private post(method: string, body: string, timeoutMs: number, retry = true): Promise<string> {
    return new Promise((resolve, reject) => {
      const fail = (reason: ConnectionFailure, detail: string) =>
        reject(new SupervisorConnectionError(reason, this.socketPath, method, detail));
      const req = request(
        {
          socketPath: this.socketPath,
          path: "/RPC2",
          method: "POST",
          agent: this.agent,
          timeout: timeoutMs,
          headers: { "Content-Type": "text/xml", "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (err) => fail("other", err.message));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) {
              reject(new SupervisorProtocolError(method, `HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
            } else resolve(text);
          });
        },
      );
      let timedOut = false;
      req.on("timeout", () => {
        timedOut = true; // destroy() below makes the socket emit ECONNRESET: that is not a stale connection
        req.destroy();
        fail("timeout", `no answer within ${timeoutMs} ms`);
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        // A pooled connection that supervisord closed meanwhile: retry once on a fresh one (Node docs,
        // http "agent.keepAlive": requests on a reused socket may fail with ECONNRESET).
        if (timedOut) return; // already failed as a timeout; never send shutdown/stop/reloadConfig twice
        if (retry && req.reusedSocket && err.code === "ECONNRESET")
          this.post(method, body, timeoutMs, false).then(resolve, reject);
        else if (err.code === "ENOENT")
          fail("no-socket", "the socket file does not exist (supervisord is not running)");
        else if (err.code === "ECONNREFUSED")
          fail("refused", "nothing listens on the socket (stale socket of a dead supervisord)");
        else fail("other", `${err.code ?? ""} ${err.message}`.trim());
      });
      req.end(body);
    });
  }
}
