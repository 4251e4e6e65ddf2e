/**
 * Manifest v1.1 programs under a real private supervisord, started from the rendered units/supervisord.conf
 * as install --supervisor-conf-dir writes the programs (the manifest's autostart: supervisord's own, in priority order): each instance program listens on its own PORT, a oneshot
 * exiting 2 with exitCodes [0, 2] is EXITED with status 2 and is not restarted, an `autostart: false`
 * program stays STOPPED until started, restart always brings a kill -9'd instance back while restart never
 * leaves its program EXITED, stderr merge writes stderr into the stdout log, references reach the program.
 * Ports: block supervisord-v11 (31200-31399). Fails loudly when supervisord is missing.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SupervisordBackend } from "../../src/backend/supervisord/backend";
import { pollUntil } from "../../src/signal/poll";
import type { ProgramState, ProgramStatus } from "../../src/backend/types";
import { acceptsConnections } from "../../src/inspect/port-probe";
import type { Model } from "../../src/model/types";
import { renderSupervisord } from "../../src/render/supervisord/programs";
import { v11Model } from "../golden/v11/manifest";
import { PORT_BLOCKS } from "../helpers/ports";
import { hasSupervisord } from "../helpers/supervisord-installed";

const BASE = PORT_BLOCKS["supervisord-v11"].low;

/** Every service runs this: it logs what it received (stdout) and its role (stderr), listens on PORT when set; migrate exits 2. */
const APP = `#!${process.execPath}
const [role] = process.argv.slice(2);
const { PORT, SHARD, USERS_URL } = process.env;
console.log(JSON.stringify({ role, argv: process.argv.slice(2), PORT, SHARD, USERS_URL }));
console.error("err:" + role);
if (role === "migrate") process.exit(2);
if (PORT) require("node:net").createServer((s) => s.end()).listen(Number(PORT), "127.0.0.1");
else setInterval(() => {}, 1 << 30);
`;

let root: string;
let model: Model;
let backend: SupervisordBackend;

async function waitState(program: string, states: ProgramState[], not?: number): Promise<ProgramStatus> {
  let last: ProgramStatus | undefined;
  const ok = await pollUntil(async () => {
    [last] = await backend.status([program]);
    return states.includes(last.state) && (not === undefined || last.pid !== not);
  }, 15_000);
  if (!ok) throw new Error(`expected ${program} in ${states.join("/")}, found ${JSON.stringify(last)}`);
  return last!;
}

beforeAll(async () => {
  expect(hasSupervisord, "supervisord is installed (apt-get install supervisor)").toBe(true);
  root = mkdtempSync("/tmp/orch-v11-");
  const app = join(root, "bin", "app.js");
  mkdirSync(dirname(app), { recursive: true });
  writeFileSync(app, APP);
  chmodSync(app, 0o755);
  model = v11Model(root, app, BASE);
  for (const dir of [model.paths.logs, model.paths.run]) mkdirSync(dir, { recursive: true });
  for (const f of renderSupervisord(model, "system")) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content, { mode: f.mode });
  }
  backend = new SupervisordBackend(model.paths, { probeTimeoutMs: 1000, termTimeoutMs: 2000, exitTimeoutMs: 15_000 });
  await backend.ensureRunning();
}, 60_000);

afterAll(async () => {
  await backend?.shutdown();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe("manifest v1.1 under supervisord", () => {
  it("every instance program is RUNNING and listens on its own PORT, with {instance} filled", async () => {
    for (const s of model.services.filter((x) => x.autostart && x.type === "service")) {
      for (const i of s.instances) {
        await waitState(i.program, ["RUNNING"]);
        if (i.port !== undefined) expect(await acceptsConnections(i.port, "127.0.0.1"), i.program).toBe(true);
        const first = JSON.parse(readFileSync(i.stdoutLog, "utf8").split("\n")[0]);
        expect(first.argv, i.program).toEqual(i.argv.slice(1));
        expect(first.PORT, i.program).toBe(i.port === undefined ? undefined : String(i.port));
      }
    }
    expect(JSON.parse(readFileSync(join(model.paths.logs, "users@1.out.log"), "utf8").split("\n")[0])).toMatchObject({
      PORT: String(BASE + 2),
      SHARD: "shard-1",
    });
    expect(readFileSync(join(model.paths.logs, "janitor@1.out.log"), "utf8")).toContain('"argv":["janitor","1"]');
  });

  it("references reach the program resolved", () => {
    expect(readFileSync(join(model.paths.logs, "gateway.out.log"), "utf8")).toContain(
      `"USERS_URL":"http://127.0.0.1:${BASE + 1}/v1"`,
    );
  });

  it("a oneshot exiting 2 with exitCodes [0, 2] is EXITED with status 2, an expected exit", async () => {
    const migrate = await waitState("migrate", ["EXITED"]);
    expect(migrate.exitStatus).toBe(2);
    // an expected exit: supervisord's log says so (an unexpected one would read "not expected")
    await expect
      .poll(() => readFileSync(model.paths.supervisordLog, "utf8"))
      .toMatch(/exited: migrate \(exit status 2; expected\)/);
  });

  it("stderr merge writes stderr into the stdout log; separate keeps its own file", async () => {
    await expect.poll(() => readFileSync(join(model.paths.logs, "pinned@0.out.log"), "utf8")).toContain("err:pinned");
    await expect.poll(() => readFileSync(join(model.paths.logs, "users@0.err.log"), "utf8")).toContain("err:users");
  });

  it("autostart false stays STOPPED until started", async () => {
    expect((await backend.status(["reindex"]))[0].state).toBe("STOPPED");
    await backend.start("reindex");
    await waitState("reindex", ["RUNNING"]);
  });

  it("kill -9: restart always brings the instance back with a new PID, restart never leaves it EXITED", async () => {
    const users1 = await waitState("users@1", ["RUNNING"]);
    const users0 = await waitState("users@0", ["RUNNING"]);
    const reindex = await waitState("reindex", ["RUNNING"]);
    process.kill(reindex.pid!, "SIGKILL");
    process.kill(users1.pid!, "SIGKILL");
    const back = await waitState("users@1", ["RUNNING"], users1.pid);
    expect(back.pid).not.toBe(users1.pid);
    expect((await backend.status(["users@0"]))[0].pid, "the other instance keeps its PID").toBe(users0.pid);
    expect((await backend.status(["reindex"]))[0].state).toBe("EXITED");
  });
});
