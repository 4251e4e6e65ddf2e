/**
 * The read commands' own bundle (src/cli/read-path.ts → dist/orchestrate-read.cjs) against a real private
 * supervisord: once any command has loaded and validated the manifest (here `restart`), `status`, `verify`,
 * `ports` and `check-ports` are answered without the full CLI. Proven by running them from a copy of dist/
 * that has no orchestrate-cli.cjs: the read bundle answers, and a changed manifest (the stamp no longer
 * matches) falls through to the full CLI, which is missing there.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/exec/run";
import { ephemeralExposed, ephemeralRange } from "../../src/inspect/ephemeral";
import { Seen, cliPath, fixture, makeCliProject, orchestrate, type TestProject } from "../helpers/cli-project";
import { portsOf } from "../helpers/ports";
import { itNeedsSupervisord } from "../helpers/supervisord-installed";

itNeedsSupervisord();

const seen = new Seen();
let project: TestProject;
let partial: string;
let servicePorts: number[] = [];
const show = (r: { exitCode?: number; stdout: string; stderr: string }) =>
  `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

/** The CLI from the copy of dist/ without the full bundle. */
const readOnly = (...args: string[]) =>
  run(process.execPath, [join(partial, "cli.cjs"), "--manifest", project.manifest, "--no-color", ...args], {
    cwd: project.root,
    extraEnv: { NO_COLOR: "1" },
    timeoutMs: 60_000,
  });

beforeAll(async () => {
  const [web, api] = await portsOf("read-path").takeMany(2);
  servicePorts = [web, api];
  project = seen.project(
    makeCliProject("o-readpath-", {
      project: "readpath",
      services: {
        web: fixture("echo-http.js", web, { health: "/health" }),
        api: fixture("echo-http.js", api, { health: "/health", dependsOn: ["web"] }),
      },
    }),
  );
  const dist = dirname(await cliPath());
  partial = mkdtempSync("/tmp/o-readpath-dist-");
  for (const f of ["cli.cjs", "orchestrate-read.cjs"]) copyFileSync(join(dist, f), join(partial, f));
  const r = await orchestrate(project, "restart");
  expect(r.exitCode, show(r)).toBe(0);
}, 120_000);

afterAll(async () => {
  await seen.cleanup();
  rmSync(partial, { recursive: true, force: true });
});

describe("the read bundle", { timeout: 60_000 }, () => {
  it("restart leaves the stamp of the validated manifest text", () => {
    expect(existsSync(join(project.root, "run", ".manifest-validated"))).toBe(true);
    expect(existsSync(join(partial, "orchestrate-cli.cjs"))).toBe(false);
  });

  it("status, verify, ports and check-ports answer without the full CLI", async () => {
    const status = await readOnly("status");
    expect(status.exitCode, show(status)).toBe(0);
    expect(status.stdout).toMatch(/web\s+RUNNING/);
    expect(status.stdout).toMatch(/api\s+RUNNING/);
    const verify = await readOnly("verify", "--json");
    expect(verify.exitCode, show(verify)).toBe(0);
    const report = JSON.parse(verify.stdout) as { ok: boolean };
    expect(report.ok).toBe(true);
    const ports = await readOnly("ports");
    expect(ports.exitCode, show(ports)).toBe(0);
    expect(ports.stdout).toContain("web");
    const check = await readOnly("check-ports", "--json");
    expect(check.exitCode, show(check)).toBe(0);
    // this file's ports lie below the kernel's ephemeral port range (test/helpers/ports.ts): no note about it
    const range = ephemeralRange();
    expect(range).toBeDefined();
    expect(ephemeralExposed(servicePorts, range!)).toEqual([]);
    expect((JSON.parse(check.stdout) as { notes: string[] }).notes.join("\n")).not.toMatch(/ephemeral/);
  });

  it("a port in the ephemeral range: check-ports notes it with the sysctl that reserves it; validate --live warns (exit 0)", async () => {
    const range = ephemeralRange()!;
    // never started: the note is about the manifest's ports, whoever holds them
    const port = range.low + 7919;
    const inRange = seen.project(
      makeCliProject("o-readpath-eph-", {
        project: "readpatheph",
        services: { web: fixture("echo-http.js", port, { health: "/health" }) },
      }),
    );
    expect(ephemeralExposed([port], range)).toEqual([port]);
    const check = await orchestrate(inRange, "check-ports", "--json");
    expect((JSON.parse(check.stdout) as { notes: string[] }).notes.join("\n"), show(check)).toMatch(
      new RegExp(`ephemeral port range .* net\\.ipv4\\.ip_local_reserved_ports=${port}\\b`),
    );
    const live = await orchestrate(inRange, "validate", "--live");
    expect(live.exitCode, show(live)).toBe(0);
    expect(live.stdout + live.stderr).toMatch(/services\.web\.port[\s\S]*ephemeral port range/);
  });

  it("a changed manifest is not trusted: the call goes to the full CLI (missing in this copy)", async () => {
    const text = readFileSync(project.manifest, "utf8");
    writeFileSync(project.manifest, text + "\n");
    try {
      const r = await readOnly("status");
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain("orchestrate-cli.cjs");
      // the full CLI validates the new text and stamps it; then the read bundle answers again
      const full = await orchestrate(project, "status");
      expect(full.exitCode, show(full)).toBe(0);
      const again = await readOnly("status");
      expect(again.exitCode, show(again)).toBe(0);
    } finally {
      writeFileSync(project.manifest, text);
    }
  });
});
