/**
 * The recovery's decisions with scripted backends of both kinds (no supervisord, no systemd): the same
 * situation gives the same outcome whichever manager runs the fleet; a foreign process left on a reserved
 * port is a warning, one on a service's port fails the recovery through that service; an invalid manifest
 * with no last good state stops nothing; a dry run changes nothing. Foreign listeners are real sockets of
 * this test process on 127.0.0.1.
 */
import { createServer, type Server } from "node:net";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors";
import { RecordedProgress } from "../../src/progress/progress";
import { recover } from "../../src/recovery/recover";
import { FakeBackend } from "../helpers/fake-backend";
import { portsOf } from "../helpers/ports";

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

async function foreignListener(port: number): Promise<void> {
  const server = createServer((c) => c.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
}

function project(manifest: object | string): string {
  const root = mkdtempSync("/tmp/o-fake-rc-");
  const file = join(root, "manifest.json");
  writeFileSync(file, typeof manifest === "string" ? manifest : JSON.stringify(manifest, null, 2));
  return file;
}

async function both(file: string, options: { dryRun?: boolean } = {}) {
  const out = [];
  for (const like of ["supervisor", "systemd"] as const) {
    const backend = new FakeBackend({ like });
    const progress = new RecordedProgress();
    const result = await recover(
      { manifest: file, progress, backend: { kind: like, factory: () => backend } },
      options,
    );
    out.push({ like, result, backend, progress });
  }
  return out;
}

describe("recover decisions, the same for both backends", () => {
  it("a foreign process on a reserved port: a warning of step 3; the fleet comes back: ok", async () => {
    const [port] = await portsOf("recover-fake").takeMany(1);
    await foreignListener(port);
    const file = project({
      project: "demo",
      ports: { reserved: { [String(port)]: "spare" } },
      services: { job: { command: "/bin/sleep 1000", startSecs: 0 } },
    });
    for (const { like, result, backend, progress } of await both(file)) {
      expect(result.ok, like).toBe(true);
      expect(
        result.steps.map((s) => s.status),
        like,
      ).toEqual(["ok", "ok", "warning", "ok", "ok", "ok"]);
      expect(progress.lines().join("\n"), like).toMatch(new RegExp(`reserved port ${port}: FOREIGN`));
      expect(backend.calls, like).toEqual(expect.arrayContaining(["emergencyStop", "apply", "start job"]));
    }
  });

  it("a foreign process on a service's port: that service does not verify, the recovery fails for both", async () => {
    const [port] = await portsOf("recover-fake").takeMany(1);
    await foreignListener(port);
    const file = project({
      project: "demo",
      groups: { web: { range: `${port}-${port}` } },
      services: { api: { group: "web", port, command: "/bin/sleep 1000", startSecs: 0, readyTimeout: 1 } },
    });
    for (const { like, result } of await both(file)) {
      expect(result.ok, like).toBe(false);
      expect(result.checks.find((c) => c.name === "api")?.problems.join(" "), like).toMatch(/is held by/);
    }
  });

  it("an invalid manifest and no last good state: refused before anything is stopped", async () => {
    const file = project('{ "project": "demo", "services": { "a": { "command": "" } } ');
    const backend = new FakeBackend();
    await expect(
      recover({
        manifest: file,
        progress: new RecordedProgress(),
        backend: { kind: "supervisor", factory: () => backend },
      }),
    ).rejects.toBeInstanceOf(UsageError);
    expect(backend.calls).toEqual([]);
  });

  it("--dry-run: the plan for both, nothing written, nothing stopped for real", async () => {
    const file = project({ project: "demo", services: { job: { command: "/bin/sleep 1000" } } });
    for (const { like, result, backend } of await both(file, { dryRun: true })) {
      expect(result.ok, like).toBe(true);
      expect(backend.calls, like).toEqual(["emergencyStop --dry-run", "close"]);
    }
    expect(existsSync(join(file, "..", "units"))).toBe(false);
  });

  it("--dry-run counts services, and programs too when instances make them differ (verify counts programs)", async () => {
    const file = project({
      project: "demo",
      services: {
        job: { command: "/bin/sleep 1000" },
        pool: { command: "/bin/sleep 1000", instances: 3, dependsOn: ["job"] },
      },
    });
    for (const { like, progress } of await both(file, { dryRun: true }))
      expect(progress.lines().join("\n"), like).toContain(
        "would start 2 services (4 programs: instances counted), each as soon as its dependencies are ready: level 0: job; level 1: pool",
      );
  });
});
