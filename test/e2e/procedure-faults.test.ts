/**
 * The procedure against the fixture services (test/fixtures/services), with the BUILT CLI as a child
 * process and a REAL private supervisord (/usr/bin/supervisord). One project, one manifest of every
 * fixture on this file's port block (24000-24099): first `test-start` of single services (no
 * supervisord), then ONE `restart` of the whole manifest whose outcome each test reads for its own
 * service, then per-service follow-ups (stop, verify, restart NAME). Every process started is recorded
 * and killed by PID in afterAll; supervisord is shut down through the backend.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../src/backend/supervisord/pids";
import { isPortFree } from "../../src/inspect/port-probe";
import {
  createProject,
  ensureBuilt,
  fixture,
  show,
  waitFor,
  type CliResult,
  type TestProject,
} from "../helpers/project";
import { portsOf } from "../helpers/ports";

const SUPERVISORD = "/usr/bin/supervisord";
/** The knobs that keep the run fast: startsecs 1, readiness within 6 s, SIGKILL 2 s after SIGTERM. */
const FAST = { startSecs: 1, readyTimeout: 6, stopTimeout: 2 };
const STOP_TIMEOUT_MS = FAST.stopTimeout * 1000;

let project: TestProject;
const port: Record<string, number> = {};
let wrongActual: number; // the port wrong-port.js really binds (WRONG_PORT)

beforeAll(async () => {
  expect(
    existsSync(SUPERVISORD),
    `these tests need a real supervisord at ${SUPERVISORD}: apt-get install -y supervisor`,
  ).toBe(true);
  ensureBuilt();
  const ports = portsOf("procedure-faults");
  for (const name of ["good", "crash", "wrong", "stubborn", "slow", "sick", "wrapper"]) port[name] = await ports.take();
  wrongActual = await ports.take();
  project = createProject("faults", {
    project: "faults",
    host: "127.0.0.1",
    services: {
      good: { port: port.good, command: `node ${fixture("binds-port.js")}`, health: "/health", ...FAST },
      crash: { port: port.crash, command: `node ${fixture("exits-at-once.js")}`, ...FAST },
      wrong: {
        port: port.wrong,
        command: `node ${fixture("wrong-port.js")}`,
        env: { WRONG_PORT: String(wrongActual) },
        ...FAST,
      },
      stubborn: { port: port.stubborn, command: `node ${fixture("ignores-sigterm.js")}`, ...FAST },
      slow: { port: port.slow, command: `node ${fixture("slow-bind.js")}`, health: "/health", ...FAST },
      sick: { port: port.sick, command: `node ${fixture("unhealthy.js")}`, health: "/health", ...FAST },
      wrapper: { port: port.wrapper, command: fixture("shell-wrapper.sh"), ...FAST },
    },
  });
});

afterAll(async () => {
  await project?.cleanup();
}, 60_000);

/** The line of the verify table for `name` (columns: SERVICE STATE PID PORT LISTENER HEALTH CPU MEM UPTIME RESULT). */
function row(output: string, name: string): string {
  const line = output.split("\n").find((l) => new RegExp(`^\\s*${name}\\s+[A-Z]+\\s`).test(l));
  if (!line) throw new Error(`expected a verify table row for ${name} in:\n${output}`);
  return line.trim();
}

/** Ports of every fixture are free again (nothing we started is left holding one). */
async function expectFree(...ports: number[]): Promise<void> {
  for (const p of ports) await waitFor(`port ${p} to be free`, () => isPortFree(p), 5000);
}

describe("test-start: each service alone, outside supervisord", { timeout: 60_000 }, () => {
  it("binds-port passes every check and prints each one with its time", async () => {
    const r = await project.cli(["test-start", "good"]);
    expect(r.exitCode, show(r)).toBe(0);
    const p = port.good;
    const checks = [
      `port ${p} is free`,
      `start good alone: node ${fixture("binds-port.js")}`,
      `listens on its port ${p} within 6 s`,
      "the listener belongs to the started process tree",
      "health /health answers 2xx",
      "Ctrl+C (SIGINT) stops it within 2 s",
      `port ${p} is released`,
    ];
    for (const c of checks) expect(r.stdout, show(r)).toContain(c);
    // every check finished ok, with a time: "✓ ok (12 ms)" or "✓ ok — pid 123 (4 ms)"
    const oks = r.stdout.match(/✓ ok\b.*\((\d+(\.\d+)? m?s)\)/g) ?? [];
    expect(oks.length, show(r)).toBe(checks.length);
    expect(r.stdout).toContain("good: test-start passed");
    await expectFree(p);
  });

  it('wrong-port fails with "listens on X, expected Y: hardcoded port?" and leaves nothing behind', async () => {
    const r = await project.cli(["test-start", "wrong"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.output, show(r)).toContain(`listens on ${wrongActual}, expected ${port.wrong}: hardcoded port?`);
    expect(r.stderr).toContain("wrong: test-start failed");
    await expectFree(port.wrong, wrongActual);
  });

  it("ignores-sigterm fails the Ctrl+C check after stopTimeout and is killed, releasing its port", async () => {
    const r = await project.cli(["test-start", "stubborn"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.output, show(r)).toContain("ignores Ctrl+C: it did not exit within stopTimeout 2 s");
    expect(r.stdout).toMatch(/still running 2 s after SIGINT \(stopTimeout\); killed with SIGKILL/);
    expect(r.output).toContain("stubborn: ignoring SIGINT"); // the tail of its output shows why
    expect(r.durationMs).toBeGreaterThanOrEqual(STOP_TIMEOUT_MS);
    await expectFree(port.stubborn);
  });

  it("exits-at-once fails before listening, showing its stderr", async () => {
    const r = await project.cli(["test-start", "crash"]);
    expect(r.exitCode, show(r)).toBe(1);
    expect(r.stderr, show(r)).toContain(`crash exited with code 1 before listening on ${port.crash}`);
    expect(r.stderr).toContain("could not connect to the database at startup (simulated crash)");
  });

  it("refuses when the port is already held, naming the holder's PID and command, and leaves it alone", async () => {
    const holder = await project.startListener(port.good);
    try {
      const r = await project.cli(["test-start", "good"]);
      expect(r.exitCode, show(r)).toBe(1);
      expect(r.output, show(r)).toContain(
        `port ${port.good} is already held by PID ${holder.pid} (${process.execPath} -e`,
      );
      expect(r.stdout).not.toContain("start good alone"); // refused before starting anything
      expect(isAlive(holder.pid)).toBe(true);
    } finally {
      await project.stopListener(holder);
    }
    await expectFree(port.good);
  });
});

describe("under supervisord: one restart of every fixture", { timeout: 120_000 }, () => {
  let fleet: CliResult;

  beforeAll(async () => {
    fleet = await project.cli(["restart"]);
    await project.trackAll();
  }, 90_000);

  it("restart exits 1 and names exactly the three services that did not become ready", () => {
    expect(fleet.exitCode, show(fleet)).toBe(1);
    const summary = fleet.stdout.match(/✗ failed — 3 of 7 not ready: (.*) \(/);
    expect(summary, show(fleet)).not.toBeNull();
    expect(summary![1].split(", ").sort()).toEqual(["crash", "sick", "wrong"]);
    for (const name of ["good", "stubborn", "slow", "wrapper"])
      expect(fleet.stdout, show(fleet)).toMatch(new RegExp(`✓ level 0: ${name} ready in `));
  });

  it("binds-port: RUNNING, listener ours, health 200, ok — in restart's table, and `restart good` exits 0", async () => {
    const p = port.good;
    expect(row(fleet.stdout, "good"), show(fleet)).toMatch(
      new RegExp(`^good\\s+RUNNING\\s+(\\d+)\\s+${p}\\s+ours \\((\\d+)\\)\\s+200\\s+.*\\sok$`),
    );
    const r = await project.cli(["restart", "good"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("✓ ok — 1/1 verified");
    const line = row(r.stdout, "good");
    const m = line.match(new RegExp(`^good\\s+RUNNING\\s+(\\d+)\\s+${p}\\s+ours \\((\\d+)\\)\\s+200\\s+.*\\sok$`));
    expect(m, show(r)).not.toBeNull();
    expect(m![2]).toBe(m![1]); // node binds itself: the listener IS the program's pid
  });

  it("exits-at-once: named with its state and the tail of its log (the fixture's stderr)", async () => {
    expect(fleet.stdout, show(fleet)).toMatch(/✗ level 0: crash: .*(BACKOFF|FATAL|EXITED|spawn error)/);
    const tail = fleet.stdout.split("✗ level 0: crash:")[1]?.split(/\n\s+[✓✗] level/)[0] ?? "";
    expect(tail, show(fleet)).toContain("last lines of its log:");
    expect(tail).toContain("| crash: fatal: could not connect to the database at startup (simulated crash)");
    // supervisord gives up after startretries: verify then names FATAL
    await waitFor(
      "crash to be FATAL",
      async () => (await project.backend.status(["crash"]))[0].state === "FATAL",
      30_000,
    );
    const v = await project.cli(["verify", "crash"]);
    expect(v.exitCode, show(v)).toBe(1);
    expect(v.stdout).toMatch(/✗ crash: FATAL/);
    expect(row(v.stdout, "crash")).toMatch(/^crash\s+FATAL\s.*FAIL$/);
  });

  it("wrong-port: not ready on its port under restart (named at once as a hardcoded port), and verify fails for it", async () => {
    expect(fleet.stdout, show(fleet)).toContain(
      `✗ level 0: wrong: listens on ${wrongActual}, expected ${port.wrong}: hardcoded port? (read PORT from the environment)`,
    );
    expect(fleet.stdout).not.toMatch(/wrong: .*\(readyTimeout\)/);
    expect(fleet.stdout).toContain(`wrong listening on 127.0.0.1:${wrongActual} (PORT was ${port.wrong})`); // log tail
    const v = await project.cli(["verify", "wrong"]);
    expect(v.exitCode, show(v)).toBe(1);
    expect(row(v.stdout, "wrong")).toMatch(new RegExp(`^wrong\\s+RUNNING\\s+\\d+\\s+${port.wrong}\\s+none\\s.*FAIL$`));
    expect(v.stdout).toContain(`✗ wrong: nothing listens on port ${port.wrong}`);
  });

  it("unhealthy: named as unhealthy (health answered 500) by restart and by verify", async () => {
    expect(fleet.stdout, show(fleet)).toContain("✗ level 0: sick: health /health answered 500, expected 2xx");
    const v = await project.cli(["verify", "sick"]);
    expect(v.exitCode, show(v)).toBe(1);
    expect(row(v.stdout, "sick")).toMatch(
      new RegExp(`^sick\\s+RUNNING\\s+\\d+\\s+${port.sick}\\s+ours \\(\\d+\\)\\s+500\\s.*FAIL$`),
    );
    expect(v.stdout).toContain("✗ sick: health /health answered 500, expected 2xx");
  });

  it("slow-bind (2 s): restart waits for it — ready in ~2 s, exit 0", async () => {
    const inFleet = fleet.stdout.match(/✓ level 0: slow ready in (\d+(?:\.\d+)?) s/);
    expect(inFleet, show(fleet)).not.toBeNull();
    const r = await project.cli(["restart", "slow"]);
    await project.trackAll();
    expect(r.exitCode, show(r)).toBe(0);
    const m = r.stdout.match(/✓ level 0: slow ready in (\d+(?:\.\d+)?) s \(port (\d+), \/health 2xx\)/);
    expect(m, show(r)).not.toBeNull();
    for (const seconds of [Number(inFleet![1]), Number(m![1])]) {
      expect(seconds).toBeGreaterThanOrEqual(1.9);
      expect(seconds).toBeLessThan(FAST.readyTimeout);
    }
    expect(Number(m![2])).toBe(port.slow);
    expect(row(r.stdout, "slow")).toMatch(/\sok$/);
  });

  it("ignores-sigterm: `stop` makes supervisord SIGKILL it after stopwaitsecs; the process is gone and the port free", async () => {
    const [before] = await project.backend.status(["stubborn"]);
    expect(before.state).toBe("RUNNING");
    const pid = before.pid!;
    project.track(pid);
    const t0 = performance.now();
    const r = await project.cli(["stop", "stubborn"]);
    const ms = performance.now() - t0;
    expect(r.exitCode, show(r)).toBe(0);
    expect(r.stdout).toContain("stubborn: stopped");
    expect(ms).toBeGreaterThanOrEqual(STOP_TIMEOUT_MS);
    expect(isAlive(pid)).toBe(false);
    expect((await project.backend.status(["stubborn"]))[0].state).toBe("STOPPED");
    await expectFree(port.stubborn);
    const log = readFileSync(project.paths.supervisordLog, "utf8");
    expect(log).toMatch(/waiting for stubborn to stop|killing 'stubborn' \(\d+\) with SIGKILL/);
    expect(log).toMatch(/stopped: stubborn \(terminated by SIGKILL\)/);
  });

  it("shell-wrapper.sh: after `stop` the child that held the port is gone too (stopasgroup) and the port is released", async () => {
    const v = await project.cli(["verify", "wrapper", "--json"]);
    expect(v.exitCode, show(v)).toBe(0);
    const check = JSON.parse(v.stdout).services[0];
    expect(check.owner.kind).toBe("service");
    const shell = check.pid as number;
    const child = check.owner.pid as number;
    project.track(shell);
    project.track(child);
    expect(child, "the listener is the wrapper's child, not the shell").not.toBe(shell);
    const r = await project.cli(["stop", "wrapper"]);
    expect(r.exitCode, show(r)).toBe(0);
    await waitFor(
      `wrapper's shell ${shell} and child ${child} to be gone`,
      () => !isAlive(shell) && !isAlive(child),
      5000,
    );
    await expectFree(port.wrapper);
  });

  it("supervisord shutdown (the tests' cleanup path) leaves no program and no port behind", async () => {
    const pids = [...(await project.pids()).values()];
    expect(pids.length).toBeGreaterThan(0);
    const report = await project.backend.stopDaemon();
    expect(report.escalation).toBe("rpc");
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} still alive after shutdown`).toBe(false);
    await expectFree(...Object.values(port), wrongActual);
  }, 60_000);
});
