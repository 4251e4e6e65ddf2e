/**
 * Manifest v1.1 units under a real systemd 252 (the sandbox of test/harness/systemd-sandbox.ts): the template
 * unit and its drop-ins give each instance exactly its own PORT (the instances really listen there), a oneshot
 * that exits with a code of exitCodes is active (exited) with Result=success, SuccessExitStatus= is what the
 * model says, and an `autostart: false` service is not started with the target. Ports: block systemd-v11
 * (31000-31199). Skipped visibly (with the reason) where the sandbox cannot run.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptsConnections } from "../../src/inspect/port-probe";
import type { Model } from "../../src/model/types";
import { instanceUnitName, renderSystemd, SYSTEMD_UNITS_DIR, targetName } from "../../src/render/systemd/units";
import { v11Model } from "../golden/v11/manifest";
import { bootSandbox, sandboxSkipReason, type Sandbox } from "../harness/systemd-sandbox";
import { PORT_BLOCKS } from "../helpers/ports";

const skipped = sandboxSkipReason();
if (skipped) console.warn(`[systemd v1.1 e2e] SKIPPED: ${skipped}`);

const BASE = PORT_BLOCKS["systemd-v11"].low;
let sandbox: Sandbox;
let model: Model;

/** Every service runs this: it logs what it received, listens on PORT when it has one; migrate exits 2. */
const APP = `#!${process.execPath}
const [role] = process.argv.slice(2);
const { PORT, SHARD, USERS_URL } = process.env;
console.log(JSON.stringify({ role, argv: process.argv.slice(2), PORT, SHARD, USERS_URL }));
if (role === "migrate") process.exit(2);
if (PORT) require("node:net").createServer().listen(Number(PORT), "127.0.0.1");
else setInterval(() => {}, 1 << 30);
`;

async function show(unit: string, props: string[]): Promise<Record<string, string>> {
  const r = await sandbox.exec(["systemctl", "show", ...props.map((p) => `--property=${p}`), unit]);
  expect(r.exitCode, r.stderr).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

beforeAll(async () => {
  if (skipped) return;
  const booted = await bootSandbox();
  if ("skipped" in booted) throw new Error(`sandbox skipped after the pre-check passed: ${booted.skipped}`);
  sandbox = booted;
  const app = join(sandbox.dir, "bin", "app.js");
  mkdirSync(dirname(app), { recursive: true });
  writeFileSync(app, APP);
  chmodSync(app, 0o755);
  model = v11Model(sandbox.dir, app, BASE);
  mkdirSync(model.paths.logs, { recursive: true });
  for (const f of renderSystemd(model)) {
    const inside = join(sandbox.unitDirOutside, f.path.slice(SYSTEMD_UNITS_DIR.length + 1));
    mkdirSync(dirname(inside), { recursive: true });
    writeFileSync(inside, f.content, { mode: f.mode });
  }
  const reload = await sandbox.exec(["systemctl", "daemon-reload"]);
  expect(reload.exitCode, reload.stderr).toBe(0);
  const start = await sandbox.exec(["systemctl", "start", targetName(model)], 60_000);
  expect(start.exitCode, start.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

describe("manifest v1.1 under systemd", () => {
  it("boots, or records why it was skipped", (ctx) => {
    if (skipped) ctx.skip(`systemd sandbox unavailable: ${skipped}`);
    expect(sandbox.pid).toBeGreaterThan(1);
  });

  it.skipIf(skipped)(
    "every instance of a template unit listens on its own port, with its own PORT and {instance}",
    async () => {
      for (const s of model.services.filter((x) => x.multi && x.port !== undefined)) {
        for (const i of s.instances) {
          const unit = instanceUnitName(model, s, i);
          expect(await show(unit, ["ActiveState"]), unit).toEqual({ ActiveState: "active" });
          await expect.poll(() => acceptsConnections(i.port!, "127.0.0.1"), { timeout: 10_000 }).toBe(true);
          await expect
            .poll(() => readFileSync(i.stdoutLog, "utf8"), { timeout: 10_000 })
            .toContain(`"PORT":"${i.port}"`);
        }
      }
      const users1 = JSON.parse(readFileSync(join(model.paths.logs, "users@1.out.log"), "utf8").trim().split("\n")[0]);
      expect(users1).toMatchObject({
        PORT: String(BASE + 2),
        SHARD: "shard-1",
        argv: ["users", "--port", String(BASE + 2), "--shard=1"],
      });
      expect(readFileSync(join(model.paths.logs, "pinned@1.out.log"), "utf8")).toContain(`"PORT":"${BASE + 20}"`);
    },
  );

  it.skipIf(skipped)("references reach the program resolved", async () => {
    await expect
      .poll(() => readFileSync(join(model.paths.logs, "gateway.out.log"), "utf8"), { timeout: 10_000 })
      .toContain(`"USERS_URL":"http://127.0.0.1:${BASE + 1}/v1"`);
  });

  it.skipIf(skipped)("a oneshot exiting 2 with exitCodes [0, 2] is active (exited), Result=success", async () => {
    expect(
      await show("demo-migrate.service", [
        "Type",
        "RemainAfterExit",
        "ActiveState",
        "SubState",
        "Result",
        "Restart",
        "SuccessExitStatus",
      ]),
    ).toEqual({
      Type: "oneshot",
      RemainAfterExit: "yes",
      ActiveState: "active",
      SubState: "exited",
      Result: "success",
      Restart: "no",
      SuccessExitStatus: "2",
    });
  });

  it.skipIf(skipped)("restart and exitCodes become Restart= and SuccessExitStatus= of each instance", async () => {
    expect(await show("demo-pinned@1.service", ["Restart", "SuccessExitStatus"])).toEqual({
      Restart: "on-failure",
      SuccessExitStatus: "3",
    });
    expect(await show("demo-users@0.service", ["Restart", "SuccessExitStatus"])).toEqual({
      Restart: "always",
      SuccessExitStatus: "",
    });
  });

  it.skipIf(skipped)("an autostart false service is known but not started with the target", async () => {
    expect(await show("demo-reindex.service", ["LoadState", "ActiveState"])).toEqual({
      LoadState: "loaded",
      ActiveState: "inactive",
    });
  });
});
