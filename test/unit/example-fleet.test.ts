/**
 * The example fleet is real input: manifest.json at the root models the REC.IO system (seeds 002/004,
 * fixtures/recio) and every service runs a small program kept in services/. This file checks the
 * manifest against the schema and the policy, that every command's program exists, that services/
 * has no hardcoded ports, and runs each distinct program once as the model resolves it (argv, directory,
 * environment) on a port of this file's block, 23900-23999.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isPortFree } from "../../src/inspect/port-probe";
import { collectSourceFiles } from "../../src/lint/scan-files";
import { findHardcodedPorts } from "../../src/lint/hardcoded-ports";
import { loadProject } from "../../src/manifest";
import { manifestSchema } from "../../src/manifest/schema";
import { validateManifest } from "../../src/manifest/validate";
import { baseEnvironment, DEFAULT_PATH } from "../../src/model/environment";
import type { Service } from "../../src/model/types";

const root = resolve(__dirname, "../..");
const manifestFile = join(root, "manifest.json");
const raw = JSON.parse(readFileSync(manifestFile, "utf8"));
const { model } = loadProject(manifestFile);

// The real REC.IO ports (fixtures/recio/MASTER_PORT_MANIFEST.json, seeds 002 and 004).
const REAL_PORTS: [string, number, "core" | "watchdog"][] = [
  ["main_app", 3000, "core"],
  ["trade_manager", 4000, "core"],
  ["trade_executor", 8001, "core"],
  ["active_trade_supervisor", 8007, "core"],
  ["auto_entry_supervisor", 8009, "core"],
  ["btc_price_watchdog", 8002, "watchdog"],
  ["db_poller", 8003, "watchdog"],
  ["kalshi_account_sync", 8004, "watchdog"],
  ["kalshi_market_watchdog", 8005, "watchdog"],
  ["unified_production_coordinator", 8010, "watchdog"],
  ["strike_table_generator", 8011, "watchdog"],
];

describe("manifest.json (the example fleet)", () => {
  it("starts with $schema and passes the schema and every policy rule, without warnings", () => {
    expect(Object.keys(raw)[0]).toBe("$schema");
    expect(raw.$schema).toBe("./manifest.schema.json");
    const parsed = manifestSchema.safeParse(raw);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const { problems, warnings } = validateManifest(raw);
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("models REC.IO: real ports and groups, externals, avoided and reserved ports", () => {
    expect(raw.project).toBe("recio");
    expect(raw.host).toBe("127.0.0.1");
    for (const [name, port, group] of REAL_PORTS) expect(raw.services[name], name).toMatchObject({ port, group });
    expect(raw.external).toMatchObject({ postgres: { port: 5432 }, redis: { port: 6379 } });
    expect(raw.ports.avoid).toEqual([5000, 7000, 9000, 10000]);
    expect(Object.keys(raw.ports.reserved)).toEqual(["8083"]);
    expect(raw.groups.core.range).toEqual(["3000-4000", "6000", "8001-8009"]);
    expect(raw.groups.watchdog.range).toBe("8002-8100");
    const workers = model.services.filter((s) => s.port === undefined && s.type === "service").map((s) => s.name);
    expect(workers).toEqual(["symbol_price_watchdog_btc", "symbol_price_watchdog_eth"]);
    for (const service of model.services) expect(service.description, service.name).not.toBe("");
  });

  it("starts in four dependency levels: the db_migrate oneshot before trade_manager (no cycles)", () => {
    expect(model.levels.length).toBe(4);
    expect(model.levels[0]).toContain("db_migrate");
    expect(model.levels[1]).toContain("trade_manager");
    expect(model.levels[2]).toEqual(expect.arrayContaining(["trade_executor", "active_trade_supervisor"]));
    expect(model.levels[3]).toEqual(expect.arrayContaining(["main_app", "auto_entry_supervisor"]));
    expect(model.levels.flat()).toContain("strike_table_generator");
  });

  it("uses manifest v1.1: two main_app instances (3000, 3001), a oneshot, {url:…} instead of a hardcoded URL", () => {
    const main = model.services.find((s) => s.name === "main_app")!;
    expect(main.instances.map((i) => [i.program, i.port])).toEqual([
      ["main_app@0", 3000],
      ["main_app@1", 3001],
    ]);
    const migrate = model.services.find((s) => s.name === "db_migrate")!;
    expect(migrate).toMatchObject({ type: "oneshot", restart: "never", port: undefined });
    expect(model.services.find((s) => s.name === "trade_manager")!.dependsOn).toContain("db_migrate");
    expect(raw.services.trade_executor.env.TRADE_MANAGER_URL).toBe("{url:trade_manager}");
    expect(model.services.find((s) => s.name === "trade_executor")!.env.TRADE_MANAGER_URL).toBe(
      "http://127.0.0.1:4000",
    );
    expect(main.instances[1].env.TRADE_MANAGER_URL).toBe("http://127.0.0.1:4000");
  });

  it.each(model.services.map((s) => [s.name, s] as const))(
    "%s: its command's interpreter and program exist",
    (_name, service) => {
      const [program, ...args] = service.argv;
      expect(onPath(program), `${program} (argv[0] of ${service.name}) is not executable`).toBe(true);
      const scripts = args.filter((arg) => /\.(py|js)$/.test(arg));
      expect(scripts.length, `${service.name}: no script in ${service.argv.join(" ")}`).toBe(1);
      const script = isAbsolute(scripts[0]) ? scripts[0] : join(service.directory, scripts[0]);
      expect(existsSync(script), `${script} (command of ${service.name}) does not exist`).toBe(true);
      expect(service.directory).toBe(root);
    },
  );
});

describe("services/ (the example fleet's code)", () => {
  it("has no hardcoded ports: `orchestrate lint services/` is clean", () => {
    const files = collectSourceFiles(["services"], { cwd: root });
    expect(files.map((f) => f.path)).toEqual([
      "services/db_migrate.py",
      "services/http_service.py",
      "services/main_app.js",
      "services/worker.py",
    ]);
    const managed = new Map(
      model.services.flatMap((s) => s.instances.flatMap((i) => (i.port ? [[i.port, s.name] as const] : []))),
    );
    expect(findHardcodedPorts(files, managed, { comments: true })).toEqual([]);
  });

  const running: ChildProcess[] = [];
  afterEach(() => {
    for (const child of running.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  /** Starts a service as the model resolves it, on `port`, and collects its output. */
  const start = (service: Service, env: Record<string, string>) => {
    const child = spawn(service.argv[0], service.argv.slice(1), {
      cwd: service.directory,
      env: { ...baseEnvironment(), ...service.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.push(child);
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      child.on("exit", (code, signal) => done({ code, signal })),
    );
    const printed = async (text: string, timeoutMs = 5000) => {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20))
        if (output.includes(text)) return;
      throw new Error(`expected ${service.name} to print "${text}" within ${timeoutMs} ms; it printed:\n${output}`);
    };
    /** Sends `signal` and resolves with the exit and how long it took. */
    const stop = async (signal: NodeJS.Signals) => {
      const sent = Date.now();
      child.kill(signal);
      const exit = await Promise.race([
        exited,
        sleep(2000).then(() => ({ code: null, signal: "still running after 2 s" })),
      ]);
      return { ...exit, ms: Date.now() - sent };
    };
    return { child, exited, printed, stop, output: () => output };
  };

  const servers = ["trade_executor", "main_app"].map(
    (name) => [name, model.services.find((s) => s.name === name)!] as const,
  );
  it.each(servers)(
    "%s binds PORT, answers /health and /, and exits 0 within a second of SIGTERM and SIGINT",
    async (name, service) => {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const port = await freePort();
        const run = start(service, { PORT: String(port) });
        await run.printed(`${name} listening on 127.0.0.1:${port}`);
        const health = await fetch(`http://127.0.0.1:${port}/health`);
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ service: name, status: "ok" });
        const index = await fetch(`http://127.0.0.1:${port}/`);
        expect(index.status).toBe(200);
        expect(await index.json()).toMatchObject({ service: name, port, pid: run.child.pid });
        const exit = await run.stop(signal);
        expect({ code: exit.code, signal: exit.signal }, run.output()).toEqual({ code: 0, signal: null });
        expect(exit.ms).toBeLessThan(1000);
        expect(await isPortFree(port)).toBe(true);
      }
    },
  );

  it("the db_migrate oneshot applies its migrations and exits 0; FAIL_AT makes it exit 1 saying which", async () => {
    const service = model.services.find((s) => s.name === "db_migrate")!;
    const ok = start(service, {});
    expect(await ok.exited).toEqual({ code: 0, signal: null });
    expect(ok.output()).toContain("db_migrate: schema up to date (3 migrations)");
    const failing = start(service, { FAIL_AT: "2" });
    expect(await failing.exited).toEqual({ code: 1, signal: null });
    expect(failing.output()).toContain("db_migrate: migration 0002 failed");
  });

  it("the worker prints heartbeats without a port and exits 0 within a second of SIGTERM", async () => {
    const service = model.services.find((s) => s.name === "symbol_price_watchdog_btc")!;
    const run = start(service, { HEARTBEAT_SECONDS: "0.1" });
    await run.printed("symbol_price_watchdog_btc heartbeat 2 symbol=BTC");
    const exit = await run.stop("SIGTERM");
    expect({ code: exit.code, signal: exit.signal }, run.output()).toEqual({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(1000);
  });

  it("a server without PORT refuses to start, saying what is missing (exit 2)", async () => {
    const service = model.services.find((s) => s.name === "trade_executor")!;
    const env = Object.fromEntries(Object.entries(service.env).filter(([key]) => key !== "PORT"));
    const run = start({ ...service, env }, {});
    expect(await run.exited).toEqual({ code: 2, signal: null });
    expect(run.output()).toContain("trade_executor: expected PORT=1-65535 in the environment, found ''");
  });
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

let nextPort = 23900;
/** The next free port of this file's block (23900-23999). */
async function freePort(): Promise<number> {
  for (; nextPort <= 23999; nextPort++) if (await isPortFree(nextPort)) return nextPort++;
  throw new Error("no free port left in 23900-23999");
}

/** An executable file: absolute, or found on the PATH programs receive. */
function onPath(program: string): boolean {
  const candidates = isAbsolute(program) ? [program] : DEFAULT_PATH.split(delimiter).map((dir) => join(dir, program));
  return candidates.some((path) => existsSync(path) && (statSync(path).mode & 0o111) !== 0);
}
