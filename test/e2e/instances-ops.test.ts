/**
 * Operations on services with instances, and restart policies, through the built CLI under a real private
 * supervisord:
 * - `restart api --all-at-once`: every instance is stopped before any is started again (no rollout), each
 *   verified on the same port;
 * - `add-service web --instances 2`: two programs on consecutive ports of the group, RUNNING and verified,
 *   `instances: 2` in the manifest; `--instances 0|x|1.5` exits 2 naming the flag and the value, nothing written;
 * - `modify-service api --instances 3` then `2`: exactly `api@2` is added, then removed (supervisord's own
 *   program list, its file, its port);
 * - restart policies (`restart` always|on-failure|never, `exitCodes`): a program that exits on its own is
 *   restarted only when the policy says so, status and verify say how it ended, and `status` exits 3 only
 *   when an enabled service that should run does not (a oneshot that EXITED with an expected code is fine).
 * Ports: block instances-ops (test/helpers/ports.ts). Fails loudly when supervisord is missing.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusRow as Row } from "../../src/fleet/status";
import type { ServiceCheck as Check } from "../../src/verify/verify";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import type { ProgramStatus } from "../../src/backend/types";
import { isPortFree } from "../../src/inspect/port-probe";
import { FIXTURES, fixture, makeCliProject, orchestrate, Seen, type TestProject } from "../helpers/cli-project";
import { PORT_BLOCKS, portsOf } from "../helpers/ports";
import { hasSupervisord } from "../helpers/supervisord-installed";

const seen = new Seen();
const BLOCK = PORT_BLOCKS["instances-ops"];

/** `status --json` of `project`: the exit code and the rows by name (NAME or NAME:I); every PID is recorded. */
async function status(project: TestProject): Promise<{ code: number; rows: Map<string, Row> }> {
  const r = await orchestrate(project, "status", "--json");
  expect([0, 3], r.stdout + r.stderr).toContain(r.exitCode);
  const rows = (JSON.parse(r.stdout) as { services: Row[] }).services;
  await seen.add(...rows.map((x) => x.pid));
  return { code: r.exitCode!, rows: new Map(rows.map((x) => [x.name, x])) };
}

async function verify(project: TestProject, ...names: string[]): Promise<{ code: number; checks: Check[] }> {
  const r = await orchestrate(project, "verify", "--json", ...names);
  return { code: r.exitCode ?? -1, checks: (JSON.parse(r.stdout) as { services: Check[] }).services };
}

/** supervisord's own list of programs (getAllProcessInfo), by name. */
async function programs(project: TestProject): Promise<Map<string, ProgramStatus>> {
  const backend = new SupervisordBackend(project.paths);
  try {
    const rows = await backend.status();
    await seen.add(...rows.map((r) => r.pid));
    return new Map(rows.map((r) => [r.name, r]));
  } finally {
    backend.close();
  }
}

/** Polls `probe` every 100 ms until it returns a value, at most `ms`; the last failure's text otherwise. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`expected ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(() => {
  expect(hasSupervisord, "supervisord is installed (apt-get install supervisor)").toBe(true);
});

afterAll(async () => {
  await seen.cleanup();
}, 60_000);

describe("instances: restart --all-at-once, add-service --instances, scaling", { timeout: 120_000 }, () => {
  let project: TestProject;
  let apiPorts: number[];
  const apiGroup = { low: BLOCK.low, high: BLOCK.low + 19 };
  const webGroup = { low: BLOCK.low + 20, high: BLOCK.low + 39 };

  beforeAll(async () => {
    apiPorts = await portsOf("instances-ops", apiGroup).takeMany(3);
    expect(apiPorts, "three consecutive free ports for api").toEqual([apiPorts[0], apiPorts[0] + 1, apiPorts[0] + 2]);
    project = seen.project(
      makeCliProject("orch-iops-", {
        version: 1.1,
        project: "iops",
        groups: {
          api: { range: `${apiGroup.low}-${apiGroup.high}` },
          web: { range: `${webGroup.low}-${webGroup.high}` },
        },
        services: {
          api: fixture("echo-http.js", apiPorts[0], { group: "api", instances: 2, health: "/health" }),
        },
      }),
    );
    const r = await orchestrate(project, "restart");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it("restart api --all-at-once: every old instance is gone before any new one exists; same ports, verified", async () => {
    const before = await status(project);
    const old = new Set([before.rows.get("api:0")!.pid!, before.rows.get("api:1")!.pid!]);
    expect(old.size).toBe(2);
    // supervisord's view, polled every 10 ms while the CLI runs
    const backend = new SupervisordBackend(project.paths);
    const samples: { pid?: number; state: string }[][] = [];
    let done = false;
    const poll = (async () => {
      while (!done) {
        const rows = await backend.status(["api@0", "api@1"]).catch(() => []);
        samples.push(rows.map((x) => ({ pid: x.pid, state: x.state })));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const r = await orchestrate(project, "restart", "api", "--all-at-once").finally(() => (done = true));
    await poll;
    backend.close();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // no rollout: neither the rollout's announcement nor its per-instance lines
    expect(r.stdout).not.toMatch(/rolling restart/);
    expect(r.stdout).not.toMatch(/api:\d: stopping/);
    expect(r.stdout).toMatch(/✓ level 0: api:0 ready in .* \(port \d+, \/health 2xx\)/);
    expect(r.stdout).toMatch(/✓ level 0: api:1 ready in .* \(port \d+, \/health 2xx\)/);
    expect(r.stdout).toMatch(/2\/2 verified/);

    const after = await status(project);
    const fresh = [after.rows.get("api:0")!.pid!, after.rows.get("api:1")!.pid!];
    for (const pid of fresh) expect(old.has(pid), `new pid ${pid}`).toBe(false);
    // in time order: once a new PID shows up, no old one ever does again, and no sample holds both
    const pidsOf = (s: { pid?: number; state: string }[]) =>
      s.filter((x) => x.pid && (x.state === "RUNNING" || x.state === "STARTING" || x.state === "STOPPING"));
    const firstNew = samples.findIndex((s) => pidsOf(s).some((x) => !old.has(x.pid!)));
    const lastOld = samples.map((s) => pidsOf(s).some((x) => old.has(x.pid!))).lastIndexOf(true);
    expect(samples.length, "samples taken").toBeGreaterThan(5);
    expect(lastOld, "an old PID was seen before the restart").toBeGreaterThanOrEqual(0);
    expect(firstNew, "a new PID was seen").toBeGreaterThan(lastOld);
    expect(
      samples.filter((s) => pidsOf(s).some((x) => old.has(x.pid!)) && pidsOf(s).some((x) => !old.has(x.pid!))),
    ).toEqual([]);
    for (const [i, name] of ["api:0", "api:1"].entries()) {
      expect(after.rows.get(name)).toMatchObject({ state: "RUNNING", port: apiPorts[i], problems: [] });
      expect(after.rows.get(name)!.port).toBe(before.rows.get(name)!.port);
    }
    const v = await verify(project, "api");
    expect(v.code, JSON.stringify(v.checks)).toBe(0);
    for (const c of v.checks)
      expect(c.owner, c.name).toMatchObject({ kind: "service", pid: after.rows.get(c.name)!.pid });
  });

  it("add-service web --instances 2: consecutive ports of the group, both RUNNING and verified, instances: 2 written", async () => {
    const before = readFileSync(project.manifest, "utf8");
    const r = await orchestrate(
      project,
      "add-service",
      "web",
      "--command",
      `${process.execPath} ${join(FIXTURES, "echo-http.js")}`,
      "--group",
      "web",
      "--instances",
      "2",
      "--health",
      "/health",
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const entry = JSON.parse(readFileSync(project.manifest, "utf8")).services.web;
    expect(entry.instances).toBe(2);
    expect(entry.ports, "consecutive ports are written as port + instances").toBeUndefined();
    expect(entry.port).toBeGreaterThanOrEqual(webGroup.low);
    expect(entry.port).toBeLessThan(webGroup.high);
    expect(JSON.parse(before).services.web).toBeUndefined();
    const { rows } = await status(project);
    expect(rows.get("web:0")).toMatchObject({ state: "RUNNING", port: entry.port, problems: [] });
    expect(rows.get("web:1")).toMatchObject({ state: "RUNNING", port: entry.port + 1, problems: [] });
    expect(rows.get("web:0")!.pid).not.toBe(rows.get("web:1")!.pid);
    const listed = await programs(project);
    expect([...listed.keys()].sort()).toEqual(["api@0", "api@1", "web@0", "web@1"]);
    const v = await verify(project, "web");
    expect(v.code, JSON.stringify(v.checks)).toBe(0);
    expect(v.checks.map((c) => [c.name, c.port, c.owner?.kind])).toEqual([
      ["web:0", entry.port, "service"],
      ["web:1", entry.port + 1, "service"],
    ]);
  });

  it("add-service --instances 0 | x | 1.5: exit 2 naming the flag and the value; manifest, units/ and journal unchanged", async () => {
    const manifestBefore = readFileSync(project.manifest);
    const unitsBefore = readdirSync(project.paths.supervisorDir).sort();
    const journal = join(project.root, "run", "journal.jsonl");
    const journalBefore = existsSync(journal) ? readFileSync(journal) : undefined;
    for (const value of ["0", "x", "1.5"]) {
      const r = await orchestrate(
        project,
        "add-service",
        "extra",
        "--command",
        `${process.execPath} ${join(FIXTURES, "echo-http.js")}`,
        "--group",
        "web",
        "--instances",
        value,
      );
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`--instances expects a whole number from 1 to 64, found "${value}"`);
      expect(readFileSync(project.manifest).equals(manifestBefore), "manifest.json byte for byte").toBe(true);
      expect(readdirSync(project.paths.supervisorDir).sort()).toEqual(unitsBefore);
      expect(existsSync(journal) ? readFileSync(journal) : undefined).toEqual(journalBefore);
    }
    expect([...(await programs(project)).keys()]).not.toContain("extra");
  });

  it("modify-service api --instances 3 then 2: exactly api@2 is added, then removed; the others keep their PIDs", async () => {
    const before = await programs(project);
    const up = await orchestrate(project, "modify-service", "api", "--instances", "3");
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    expect(JSON.parse(readFileSync(project.manifest, "utf8")).services.api).toMatchObject({
      instances: 3,
      port: apiPorts[0],
    });
    const grown = await programs(project);
    expect([...grown.keys()].sort()).toEqual([...before.keys(), "api@2"].sort());
    expect(grown.get("api@2")).toMatchObject({ state: "RUNNING" });
    for (const [name, s] of before) expect(grown.get(name)!.pid, name).toBe(s.pid);
    const { rows } = await status(project);
    expect(rows.get("api:2")).toMatchObject({ state: "RUNNING", port: apiPorts[2], problems: [] });
    expect(existsSync(join(project.paths.supervisorDir, "api@2.conf"))).toBe(true);

    const down = await orchestrate(project, "modify-service", "api", "--instances", "2");
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    const shrunk = await programs(project);
    expect([...shrunk.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, s] of before) expect(shrunk.get(name)!.pid, name).toBe(s.pid);
    expect(existsSync(join(project.paths.supervisorDir, "api@2.conf"))).toBe(false);
    expect(await isPortFree(apiPorts[2])).toBe(true);
    const entry = JSON.parse(readFileSync(project.manifest, "utf8")).services.api;
    expect(entry).toMatchObject({ instances: 2, port: apiPorts[0] });
    expect(entry.ports).toBeUndefined();
    const after = await status(project);
    expect(after.code).toBe(0);
    expect([...after.rows.keys()]).toEqual(["api:0", "api:1", "web:0", "web:1"]);
  });
});

describe("restart policies under supervisord", { timeout: 120_000 }, () => {
  let project: TestProject;
  let marks: string;
  /** the file whose creation ends the current run of `name` (runs-once.js WAIT_FILE) */
  const release = (name: string) => writeFileSync(join(project.root, "run", `${name}.go`), "");
  const runs = (name: string) =>
    existsSync(marks)
      ? readFileSync(marks, "utf8")
          .split("\n")
          .filter((l) => l === `${name} ran`).length
      : 0;

  beforeAll(async () => {
    project = seen.project(makeCliProject("orch-ipol-", {}));
    marks = join(project.root, "run", "marks.txt");
    const worker = (exitCode: number, extra: Record<string, unknown>, name: string) =>
      fixture("runs-once.js", undefined, {
        env: { EXIT_CODE: String(exitCode), MARK_FILE: marks, WAIT_FILE: join(project.root, "run", `${name}.go`) },
        ...extra,
      });
    writeFileSync(
      project.manifest,
      JSON.stringify(
        {
          version: 1.1,
          project: "ipol",
          host: "127.0.0.1",
          services: {
            // a oneshot that exits 0 at once: EXITED with an expected code is its success
            task: fixture("runs-once.js", undefined, {
              type: "oneshot",
              restart: "on-failure",
              env: { EXIT_CODE: "0", MARK_FILE: marks },
            }),
            clean: worker(0, { restart: "on-failure" }, "clean"),
            crashy: worker(3, { restart: "on-failure" }, "crashy"),
            expected: worker(3, { restart: "on-failure", exitCodes: [0, 3] }, "expected"),
            never: worker(3, { restart: "never" }, "never"),
            always: worker(0, { restart: "always" }, "always"),
          },
        },
        null,
        2,
      ) + "\n",
    );
    const r = await orchestrate(project, "restart");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it("while the workers run and the oneshot EXITED 0: status exits 0", async () => {
    const { code, rows } = await status(project);
    expect(rows.get("task")).toMatchObject({ state: "EXITED", exitStatus: 0, problems: [] });
    for (const n of ["clean", "crashy", "expected", "never", "always"])
      expect(rows.get(n), n).toMatchObject({ state: "RUNNING", restarts: 0 });
    expect(code, JSON.stringify([...rows.values()])).toBe(0);
    const text = await orchestrate(project, "status");
    expect(text.exitCode, text.stdout).toBe(0);
    expect(text.stdout).toMatch(/^task\s+EXITED \(exit 0\)/m);
  });

  it("each worker exits on its own: only always and on-failure with an unexpected code are restarted; status exits 3", async () => {
    const first = (await status(project)).rows;
    for (const n of ["clean", "crashy", "expected", "never", "always"]) release(n);
    // crashy (exit 3, not in exitCodes) and always (exit 0) come back RUNNING with one restart
    const rows = await until("crashy and always restarted", 20_000, async () => {
      const { rows } = await status(project);
      const back = ["crashy", "always"].every(
        (n) => rows.get(n)?.state === "RUNNING" && (rows.get(n)?.restarts ?? 0) >= 1,
      );
      const settled = ["clean", "expected", "never"].every((n) => rows.get(n)?.state === "EXITED");
      return back && settled ? rows : undefined;
    });
    for (const n of ["crashy", "always"]) {
      expect(rows.get(n)!.restarts, n).toBe(1);
      expect(rows.get(n)!.pid, n).not.toBe(first.get(n)!.pid);
      expect(runs(n), n).toBe(2);
    }
    expect(rows.get("crashy")!.lastExit).toMatchObject({ code: 3, expected: false });
    expect(rows.get("always")!.lastExit).toMatchObject({ code: 0, expected: true });
    // the manager had the time to restart them (crashy and always were restarted meanwhile): it did not
    await new Promise((r) => setTimeout(r, 1500));
    const { code, rows: later } = await status(project);
    expect(later.get("clean")).toMatchObject({ state: "EXITED", exitStatus: 0, restarts: 0 });
    expect(later.get("clean")!.lastExit).toMatchObject({ code: 0, expected: true });
    expect(later.get("expected")).toMatchObject({ state: "EXITED", exitStatus: 3, restarts: 0 });
    expect(later.get("expected")!.lastExit).toMatchObject({ code: 3, expected: true });
    expect(later.get("never")).toMatchObject({ state: "EXITED", exitStatus: 3, restarts: 0 });
    expect(later.get("never")!.lastExit).toMatchObject({ code: 3, expected: false });
    for (const n of ["clean", "expected", "never"]) expect(runs(n), n).toBe(1);
    expect(later.get("task")).toMatchObject({ state: "EXITED", exitStatus: 0, problems: [] });
    expect(runs("task")).toBe(1);
    // services (not oneshots) that no longer run: status exits 3, as supervisorctl status does
    expect(code).toBe(3);
    const text = await orchestrate(project, "status");
    expect(text.exitCode).toBe(3);
    expect(text.stdout).toMatch(/^clean\s+EXITED\s.*\s0\s+exit 0, \d+ s ago after \d+ s/m);
    expect(text.stdout).toMatch(/^never\s+EXITED\s.*\s0\s+exit 3, \d+ s ago after \d+ s/m);
  });

  it("verify names how each one ended", async () => {
    const v = await verify(project);
    expect(v.code).toBe(1);
    const by = new Map(v.checks.map((c) => [c.name, c]));
    for (const n of ["task", "crashy", "always"]) expect(by.get(n), n).toMatchObject({ ok: true, problems: [] });
    expect(by.get("clean")!.ok).toBe(false);
    const said = (n: string) => by.get(n)!.problems.join("\n");
    expect(said("clean")).toMatch(
      /^EXITED \(.+\): exited on its own with code 0, an expected exit code \(exitCodes 0\): restart "on-failure" does not start it again \("orchestrate start clean" runs it again\)$/,
    );
    expect(said("expected")).toMatch(
      /^EXITED \(.+\): exited on its own with code 3, an expected exit code \(exitCodes 0, 3\): restart "on-failure" does not start it again/,
    );
    expect(said("never")).toMatch(
      /^EXITED \(.+\): exited on its own with code 3, not an expected exit code \(exitCodes 0\): restart "never" does not start it again \("orchestrate start never" runs it again\)$/,
    );
    // status carries verify's words
    const { rows } = await status(project);
    expect(rows.get("clean")!.problems).toEqual(by.get("clean")!.problems);
    // what the message says to run starts it again; restart does too
    const started = await orchestrate(project, "start", "clean");
    expect(started.exitCode, started.stdout + started.stderr).toBe(0);
    const r = await orchestrate(project, "restart", "never");
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const again = (await status(project)).rows;
    for (const n of ["clean", "never"]) {
      expect(again.get(n), n).toMatchObject({ state: "RUNNING" });
      expect(runs(n), n).toBe(2);
    }
  });
});
