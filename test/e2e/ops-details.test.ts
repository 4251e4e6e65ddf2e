/**
 * The details of day-to-day operations, through the BUILT CLI against a REAL private supervisord (ports
 * 32000-32099): `logs` of many services and instances (stdout and stderr interleaved in time order, each
 * line prefixed, `-n` per service and stream, `--since`, `-f` following every selected file), failure tails
 * (stdout and stderr together in time order, the retries' traceback folded with a count), `restart UNKNOWN`
 * failing before step 1, add-service linting only the new service's own code, `history` naming each message
 * once, and `recover --dry-run` whose counts match its list and what `recover` then does.
 * Cleanup shuts each private supervisord down and SIGKILLs exactly the PIDs recorded (Seen), never by name.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPidfile } from "../../src/backend/supervisord/pids";
import { spawnService, type SpawnedProcess } from "../../src/exec/run";
import { isAlive } from "../../src/inspect/processes";
import { pollUntil } from "../../src/signal/poll";
import {
  FIXTURES,
  Seen,
  cliPath,
  fixture,
  makeCliProject,
  orchestrate,
  programPids,
  type TestProject,
} from "../helpers/cli-project";
import { portsOf } from "../helpers/ports";
import type { RunResult } from "../../src/exec/run";
import { itNeedsSupervisord } from "../helpers/supervisord-installed";

itNeedsSupervisord();

const seen = new Seen();
const ports = portsOf("ops-details");
const show = (r: RunResult) => `exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const FAST = { startSecs: 1, readyTimeout: 10, stopTimeout: 3 };
/** An ISO 8601 time at the start of a line's text (after the "label |" prefix). */
const STAMP = /^\S.*? \| (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) /;

afterAll(() => seen.cleanup(), 60_000);

/** The lines of `logs` output: label (with "(err)" for stderr), text, own time when the text starts with one. */
function parseLogs(stdout: string): { label: string; stream: "stdout" | "stderr"; text: string; at?: number }[] {
  return stdout
    .split("\n")
    .filter((l) => l.includes(" | "))
    .map((l) => {
      const [prefix, ...rest] = l.split(" | ");
      const text = rest.join(" | ");
      const head = prefix.trim();
      const err = head.endsWith(" (err)");
      const stamp = STAMP.exec(l);
      return {
        label: err ? head.slice(0, -" (err)".length) : head,
        stream: err ? ("stderr" as const) : ("stdout" as const),
        text,
        ...(stamp ? { at: Date.parse(stamp[1]) } : {}),
      };
    });
}

describe("logs, failure tails, unknown names, add-service's lint, history", { timeout: 120_000 }, () => {
  let project: TestProject;
  const port: Record<string, number> = {};
  let fleet: RunResult;

  beforeAll(async () => {
    for (const n of ["alpha", "beta", "beta1", "web", "old", "fresh"]) port[n] = await ports.take();
    // beta's instances take port and port + 1: give it two adjacent free ports
    expect(port.beta1, "beta's second instance needs the next port").toBe(port.beta + 1);
    project = seen.project(
      makeCliProject("ops-d-", {
        project: "opsd",
        services: {
          alpha: fixture("chatty.js", port.alpha, { env: { TICK_MS: "250" } }),
          beta: fixture("chatty.js", port.beta, { instances: 2, env: { TICK_MS: "250", INSTANCE: "{instance}" } }),
          web: fixture("echo-http.js", port.web),
          old: { ...FAST, command: [process.execPath, "svc/old/app.js"], port: port.old },
          crash: fixture("crash-traceback.js", undefined, { startRetries: 2 }),
        },
      }),
    );
    // another service's folder holding a file with a hardcoded port: not the new service's problem
    mkdirSync(join(project.root, "svc/old"), { recursive: true });
    copyFileSync(join(FIXTURES, "echo-http.js"), join(project.root, "svc/old/app.js"));
    writeFileSync(join(project.root, "svc/old/legacy.js"), "const PORT = 8123;\nmodule.exports = PORT;\n");
    // the new service's own file, with a hardcoded fallback port of its own
    writeFileSync(
      join(project.root, "svc/fresh.js"),
      `const DEFAULT_PORT = 8124;\n${readFileSync(join(FIXTURES, "echo-http.js"), "utf8")}`,
    );
    fleet = await orchestrate(project, "restart");
    await seen.add(readPidfile(project.paths.pidfile), ...(await programPids(project)).values());
  }, 90_000);

  /** Waits until supervisord gave up on crash (FATAL: startretries 2, 3 attempts). */
  async function crashFatal(): Promise<void> {
    const fatal = async () => {
      const status = JSON.parse((await orchestrate(project, "status", "--json")).stdout) as {
        services: { name: string; state: string }[];
      };
      return status.services.find((s) => s.name === "crash")?.state === "FATAL";
    };
    expect(await pollUntil(fatal, 30_000, { maxDelayMs: 500 }), "crash to become FATAL").toBe(true);
  }

  it("restart: the crash's tail has its stdout line, then its traceback from stderr, in time order", () => {
    expect(fleet.exitCode, show(fleet)).toBe(1);
    for (const n of ["alpha", "beta:0", "beta:1", "web", "old"])
      expect(fleet.stdout, show(fleet)).toMatch(new RegExp(`✓ level 0: ${n} ready in `));
    const tail = fleet.stdout.split("✗ level 0: crash:")[1]?.split("✗ failed")[0] ?? "";
    const lines = tail.split("\n").filter((l) => l.includes("| "));
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(at("crash: loading settings"), tail).toBeGreaterThan(-1);
    expect(at("crash: loading settings")).toBeLessThan(at("Traceback (most recent call last):"));
    expect(at("Traceback (most recent call last):")).toBeLessThan(at("ValueError: DATABASE_URL is not set"));
  });

  it("verify after supervisord gave up: stdout and stderr of each attempt together, the 3 attempts folded into one with a count", async () => {
    await crashFatal();
    const v = await orchestrate(project, "verify", "crash");
    expect(v.exitCode, show(v)).toBe(1);
    const tail = v.stdout
      .split("\n")
      .filter((l) => /^\s+\| /.test(l))
      .map((l) => l.replace(/^\s+\| /, "").replace(/^\S+Z /, ""));
    expect(tail, v.stdout).toEqual([
      "crash: loading settings",
      "Traceback (most recent call last):",
      '  File "/srv/crash/app.py", line 12, in <module>',
      "    settings = load()",
      "ValueError: DATABASE_URL is not set",
      "… the 5 lines above repeated 3 times (once per start attempt)",
    ]);
  });

  it("start of the crashing program: exit 1, the same folded tail, counting every attempt in its logs", async () => {
    const r = await orchestrate(project, "start", "crash");
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stdout.match(/ValueError: DATABASE_URL is not set/g), show(r)).toHaveLength(1);
    expect(r.stdout).toMatch(/… the 5 lines above repeated \d+ times \(once per start attempt\)/);
    const at = (s: string) => r.stdout.indexOf(s);
    expect(at("crash: loading settings")).toBeLessThan(at("Traceback (most recent call last):"));
    await crashFatal();
  });

  it("logs with no name: every service's stdout and stderr, each line prefixed with its service or instance, in time order", async () => {
    const r = await orchestrate(project, "logs");
    expect(r.exitCode, show(r)).toBe(0);
    const lines = parseLogs(r.stdout);
    for (const label of ["alpha", "beta:0", "beta:1"])
      for (const stream of ["stdout", "stderr"] as const) {
        const own = lines.filter((l) => l.label === label && l.stream === stream);
        expect(own.length, `${label} ${stream}\n${r.stdout}`).toBeGreaterThan(0);
        // the prefix is the line's own service and instance and stream: chatty names itself in each line
        for (const l of own) expect(l.text).toMatch(new RegExp(` ${label} ${stream === "stdout" ? "out" : "err"} `));
      }
    expect(r.stdout).toMatch(/^web\s+\| web listening on 127\.0\.0\.1:\d+$/m);
    expect(r.stdout).toMatch(/^old\s+\| old listening on 127\.0\.0\.1:\d+$/m);
    expect(r.stdout).toMatch(/^crash \(err\)\s+\| ValueError: DATABASE_URL is not set$/m);
    // interleaved: the times of the timestamped lines never go back, and the streams alternate
    const times = lines.filter((l) => l.at !== undefined).map((l) => l.at!);
    expect(times.length).toBeGreaterThan(20);
    for (let i = 1; i < times.length; i++) expect(times[i], `line ${i}`).toBeGreaterThanOrEqual(times[i - 1]);
    const chatty = lines.filter((l) => /^(alpha|beta:\d)$/.test(l.label)).map((l) => `${l.label} ${l.stream}`);
    const switches = chatty.filter((k, i) => i > 0 && k !== chatty[i - 1]).length;
    expect(switches, "stdout and stderr lines of the services interleaved, not file after file").toBeGreaterThan(
      chatty.length / 2,
    );
  });

  it("logs -n N: N lines per service and stream, for each instance", async () => {
    const r = await orchestrate(project, "logs", "-n", "3");
    expect(r.exitCode, show(r)).toBe(0);
    const lines = parseLogs(r.stdout);
    for (const label of ["alpha", "beta:0", "beta:1", "crash"])
      for (const stream of ["stdout", "stderr"] as const)
        expect(lines.filter((l) => l.label === label && l.stream === stream).length, `${label} ${stream}`).toBe(3);
    expect(lines.filter((l) => l.label === "web").length).toBe(1); // it printed one line
  });

  it("logs with several names: only those (a service's every instance, or NAME:I), both streams", async () => {
    const r = await orchestrate(project, "logs", "alpha", "beta:1", "-n", "5");
    expect(r.exitCode, show(r)).toBe(0);
    const labels = new Set(parseLogs(r.stdout).map((l) => `${l.label} ${l.stream}`));
    expect([...labels].sort()).toEqual(["alpha stderr", "alpha stdout", "beta:1 stderr", "beta:1 stdout"]);
    const all = await orchestrate(project, "logs", "beta", "-n", "2");
    expect(new Set(parseLogs(all.stdout).map((l) => l.label))).toEqual(new Set(["beta:0", "beta:1"]));
  });

  it("logs --since 2s: only lines of the last 2 s (by their own time); without it older lines show", async () => {
    // crash's last attempt must be more than 2 s old (start crash retried it a moment ago): wait for that
    const crashLogs = ["out", "err"].map((x) => join(project.root, `logs/crash.${x}.log`));
    const lastCrash = Math.max(...crashLogs.map((f) => statSync(f).mtimeMs));
    await new Promise((r) => setTimeout(r, Math.max(0, lastCrash + 2500 - Date.now())));
    const now = Date.now();
    const r = await orchestrate(project, "logs", "--since", "2s", "-n", "1000");
    expect(r.exitCode, show(r)).toBe(0);
    const lines = parseLogs(r.stdout);
    expect(lines.filter((l) => l.label === "alpha").length).toBeGreaterThan(2);
    for (const l of lines) {
      expect(l.at, `a line without a time of its own: ${l.label} | ${l.text}`).toBeDefined();
      expect(l.at!, `${l.label} | ${l.text}`).toBeGreaterThanOrEqual(now - 2000 - 100);
    }
    // crash and web wrote long ago: nothing of theirs
    expect(lines.some((l) => l.label === "crash" || l.label === "web")).toBe(false);
    const older = parseLogs((await orchestrate(project, "logs", "alpha", "-n", "1000")).stdout);
    expect(older.some((l) => l.at !== undefined && l.at < now - 3000)).toBe(true);
  });

  it("logs -f: new lines of every selected service arrive, prefixed; -n 0 shows none of the old ones", async () => {
    const follow: SpawnedProcess = await spawnService(
      [
        process.execPath,
        await cliPath(),
        "--manifest",
        project.manifest,
        "--no-color",
        "logs",
        "-f",
        "-n",
        "0",
        "alpha",
        "beta:0",
        "web",
      ],
      { cwd: project.root, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" } },
    );
    await seen.add(follow.pid);
    const started = Date.now();
    try {
      // web writes only when it starts: restart it while following
      await pollUntil(() => follow.output().includes(" beta:0 err "), 10_000, { maxDelayMs: 100 });
      const r = await orchestrate(project, "restart", "web");
      expect(r.exitCode, show(r)).toBe(0);
      await seen.add((await programPids(project)).get("web"));
      const arrived = await pollUntil(
        () => /^web\s+\| web listening on/m.test(follow.output()) && follow.output().includes(" alpha err "),
        15_000,
        { maxDelayMs: 100 },
      );
      expect(arrived, follow.output()).toBe(true);
      const lines = parseLogs(follow.output());
      expect(new Set(lines.map((l) => `${l.label} ${l.stream}`))).toEqual(
        new Set(["alpha stdout", "alpha stderr", "beta:0 stdout", "beta:0 stderr", "web stdout"]),
      );
      for (const l of lines.filter((x) => x.label !== "web")) {
        expect(l.text).toMatch(new RegExp(` ${l.label} ${l.stream === "stdout" ? "out" : "err"} `));
        // -n 0: only lines written after it started (1 s of slack for lines written while it read the files)
        expect(l.at!, `${l.label} | ${l.text}`).toBeGreaterThanOrEqual(started - 1000);
      }
      expect(follow.output()).not.toMatch(/beta:1|crash/);
    } finally {
      follow.child.kill("SIGTERM");
      const end = await Promise.race([follow.exited, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
      expect(end, "logs -f to exit on SIGTERM").toMatchObject({ signal: "SIGTERM" });
    }
    expect(isAlive(follow.pid)).toBe(false);
  });

  it("restart UNKNOWN: exit 2 naming it and the closest name, before step 1; nothing stopped", async () => {
    const before = await programPids(project);
    for (const args of [
      ["restart", "alhpa"],
      ["restart", "web", "alhpa"],
    ]) {
      const r = await orchestrate(project, ...args);
      expect(r.exitCode, show(r)).toBe(2);
      expect(r.stderr).toContain('unknown service "alhpa"; did you mean "alpha"?');
      expect(r.stdout + r.stderr).not.toContain("[1/");
    }
    expect(await programPids(project)).toEqual(before);
  });

  it("add-service lints only the new service's own code: its hardcoded port is reported, another service's folder is not", async () => {
    // the other service's file IS a finding for lint: the add-service assertion below can fail
    const lint = await orchestrate(project, "lint");
    expect(lint.stdout, show(lint)).toContain("svc/old/legacy.js:1");
    const before = await programPids(project);
    const r = await orchestrate(
      project,
      "add-service",
      "fresh",
      "--command",
      `${process.execPath} svc/fresh.js`,
      "--port",
      String(port.fresh),
    );
    expect(r.exitCode, show(r)).toBe(0);
    await seen.add((await programPids(project)).get("fresh"));
    const step3 = r.stdout.split("[3/7]")[1]?.split("[4/7]")[0] ?? "";
    expect(step3, r.stdout).toContain("warning svc/fresh.js:1: const DEFAULT_PORT = 8124;");
    expect(step3).toContain("1 warning (not fatal)");
    expect(step3).not.toContain("legacy.js");
    expect(r.stdout).not.toContain("8123");
    const after = await programPids(project);
    for (const [name, pid] of before) expect(after.get(name), name).toBe(pid);
  });

  it("history: every change once, each message once (text and --json)", async () => {
    const removed = await orchestrate(project, "remove-service", "fresh");
    expect(removed.exitCode, show(removed)).toBe(0);
    const boom = await orchestrate(
      project,
      "add-service",
      "boom",
      "--command",
      `${process.execPath} ${join(FIXTURES, "crash-traceback.js")}`,
      "--port",
      String(port.fresh),
    );
    expect(boom.exitCode, show(boom)).toBe(1);
    expect(boom.stderr).toContain("rolled back");
    const again = await orchestrate(project, "restart", "crash");
    expect(again.exitCode, show(again)).toBe(1);
    const json = await orchestrate(project, "history", "--json");
    expect(json.exitCode, show(json)).toBe(0);
    const entries = JSON.parse(json.stdout) as {
      command: string;
      outcome: string;
      changes: string[];
      reason?: string;
    }[];
    expect(entries.map((e) => `${e.command}: ${e.outcome}`)).toEqual([
      "restart: failed",
      "add-service fresh: applied",
      "remove-service fresh: applied",
      "add-service boom: rolled back",
      "restart crash: failed",
    ]);
    for (const e of entries) {
      expect(new Set(e.changes).size, JSON.stringify(e)).toBe(e.changes.length);
      const parts = (e.reason ?? "").split("\n")[0].split(" · ").filter(Boolean);
      expect(new Set(parts).size, JSON.stringify(e)).toBe(parts.length);
      for (const p of parts) expect(e.changes, JSON.stringify(e)).not.toContain(p);
    }
    expect(entries[3].reason).toMatch(/^boom exited with code 1 before listening on \d+\n/);
    expect(entries[4]).toMatchObject({ changes: [], reason: expect.stringMatching(/^crash: (BACKOFF|FATAL)/) });
    const text = await orchestrate(project, "history");
    expect(text.exitCode, show(text)).toBe(0);
    const rows = text.stdout.trimEnd().split("\n").slice(1);
    expect(rows).toHaveLength(5);
    // a restart that changed no file: its reason alone, not " — reason"
    expect(rows[4]).toMatch(/^\S+ \S+ {2,}restart crash {2,}failed {2,}crash: (BACKOFF|FATAL)/);
    for (const row of rows) {
      const cell = row.split(/ {2,}/).slice(3).join("  ");
      const [changes, reason = ""] = cell.split(" — ");
      const items = [...changes.split("; "), ...reason.split(" · ")].filter(Boolean);
      expect(new Set(items).size, row).toBe(items.length);
    }
    expect(text.stdout.match(/added fresh on port/g)).toHaveLength(1);
    expect(text.stdout.match(/boom exited with code 1/g)).toHaveLength(1);
    expect(text.stdout.match(/removed fresh \(port \d+ freed\)/g)).toHaveLength(1);
  });
});

describe(
  "recover --dry-run: its counts match its list and what recover then does; it changes nothing",
  { timeout: 120_000 },
  () => {
    let project: TestProject;
    let pids: Map<string, number>;
    const port: Record<string, number> = {};

    /** Every file of the project with its size and mtime: what a dry run must leave alone. */
    function snapshot(): Record<string, string> {
      const out: Record<string, string> = {};
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          const st = statSync(path);
          if (st.isDirectory()) walk(path);
          else if (!path.includes("/logs/")) out[path] = `${st.size} ${st.mtimeMs}`;
        }
      };
      walk(project.root);
      return out;
    }

    beforeAll(async () => {
      port.web = await ports.take();
      port.api = await ports.take();
      port.api1 = await ports.take();
      expect(port.api1, "api's second instance needs the next port").toBe(port.api + 1);
      project = seen.project(
        makeCliProject("ops-r-", {
          project: "opsr",
          services: {
            web: fixture("echo-http.js", port.web),
            api: fixture("echo-http.js", port.api, { instances: 2 }),
          },
        }),
      );
      const r = await orchestrate(project, "restart");
      expect(r.exitCode, show(r)).toBe(0);
      pids = await programPids(project);
      await seen.add(readPidfile(project.paths.pidfile), ...pids.values());
      expect([...pids.keys()].sort()).toEqual(["api:0", "api:1", "web"]);
    }, 90_000);

    it("with supervisord running: the program processes it counts are the ones it lists; nothing changes", async () => {
      const daemon = readPidfile(project.paths.pidfile)!;
      const before = snapshot();
      const r = await orchestrate(project, "recover", "--dry-run");
      expect(r.exitCode, show(r)).toBe(0);
      const found = /found supervisord PID (\d+) .*; (\d+) program process(?:es)?: ([\d, ]+)\n/.exec(r.stdout);
      expect(found, r.stdout).not.toBeNull();
      expect(Number(found![1])).toBe(daemon);
      const listed = found![3].split(", ").map(Number);
      expect(Number(found![2])).toBe(listed.length);
      expect(listed.sort()).toEqual([...pids.values()].sort());
      expect(r.stdout).toContain(
        `${listed.length} processes under the running supervisord (${listed.length} program processes, as step 1 found): its own shutdown stops them`,
      );
      expect(r.stdout).toContain(
        "would start 2 services (3 programs: instances counted), each as soon as its dependencies are ready: level 0: web api",
      );
      expect(await programPids(project)).toEqual(pids);
      expect(readPidfile(project.paths.pidfile)).toBe(daemon);
      expect(snapshot()).toEqual(before);
    });

    it("after kill -9 of supervisord: 'N leftovers would be stopped' lists N, each with its port and stopTimeout; recover then stops exactly those", async () => {
      const daemon = readPidfile(project.paths.pidfile)!;
      process.kill(daemon, "SIGKILL");
      expect(await pollUntil(() => !isAlive(daemon), 5000)).toBe(true);
      const before = snapshot();
      const dry = await orchestrate(project, "recover", "--dry-run");
      expect(dry.exitCode, show(dry)).toBe(0);
      const planned = [
        ...dry.stdout.matchAll(
          /^\s+PID (\d+) (\S+) \(.*?\)( on port (\d+))? — .*; would send TERM, KILL after (\d+) s$/gm,
        ),
      ];
      const count = /✓ ok — (\d+) leftovers? would be stopped/.exec(dry.stdout);
      expect(count, dry.stdout).not.toBeNull();
      expect(planned.length, dry.stdout).toBe(Number(count![1]));
      expect(planned.map((m) => Number(m[1])).sort()).toEqual([...pids.values()].sort());
      const portOf: Record<string, number> = { web: port.web, "api@0": port.api, "api@1": port.api1 };
      for (const m of planned) {
        expect(Number(m[4]), `${m[2]} listens on its port: ${m[0]}`).toBe(portOf[m[2]]);
        expect(Number(m[5]), `${m[2]}: its stopTimeout (3 s), not the default: ${m[0]}`).toBe(FAST.stopTimeout);
      }
      for (const pid of pids.values()) expect(isAlive(pid), `PID ${pid} after the dry run`).toBe(true);
      expect(snapshot()).toEqual(before);

      const real = await orchestrate(project, "recover", "--yes");
      expect(real.exitCode, show(real)).toBe(0);
      const done = [...real.stdout.matchAll(/^\s+PID (\d+) \S+ \(.*; sending TERM, KILL after (\d+) s$/gm)].map((m) =>
        Number(m[1]),
      );
      expect(done.sort()).toEqual(planned.map((m) => Number(m[1])).sort());
      for (const pid of pids.values()) expect(real.stdout).toMatch(new RegExp(`PID ${pid}: exited \\d+ ms after TERM`));
      expect(real.stdout).toContain(`✓ ok — ${planned.length} leftovers stopped (0 needed KILL)`);
      for (const pid of pids.values()) expect(isAlive(pid), `old PID ${pid}`).toBe(false);
      const now = await programPids(project);
      await seen.add(readPidfile(project.paths.pidfile), ...now.values());
      expect([...now.keys()].sort()).toEqual(["api:0", "api:1", "web"]);
      for (const [name, pid] of now) expect(pid, name).not.toBe(pids.get(name));
    });
  },
);
