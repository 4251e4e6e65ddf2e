/**
 * The exposure audit against real listeners: services bound the way their programs chose (a "loopback" service
 * that ignores BIND_ADDRESS and binds 0.0.0.0, one on ::, a well-behaved one on 127.0.0.1, a "public" one on
 * 127.0.0.1 only), read by src/inspect/listeners.ts (ss, then /proc). Ports: block "exposure-audit".
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listListeners } from "../../src/inspect/listeners";
import { waitForPort } from "../../src/inspect/port-probe";
import { auditExposure } from "../../src/verify/exposure";
import { modelOf } from "../golden/edge/model";
import { portsOf } from "../helpers/ports";
import { FIXTURES } from "../helpers/project";

const children: ChildProcess[] = [];
const P: Record<string, number> = {};

describe("exposure audit on real listeners", () => {
  beforeAll(async () => {
    const alloc = portsOf("exposure-audit");
    for (const k of ["good", "wild4", "wild6", "pub", "cache"]) P[k] = await alloc.take();
    const bind: Record<string, string> = {
      good: "127.0.0.1",
      wild4: "0.0.0.0",
      wild6: "::",
      pub: "127.0.0.1",
      cache: "0.0.0.0",
    };
    for (const [name, host] of Object.entries(bind)) {
      children.push(
        spawn(process.execPath, [join(FIXTURES, "echo-http.js")], {
          env: { PATH: "/usr/bin:/bin", PORT: String(P[name]), HOST: host, SERVICE_NAME: name },
          detached: true,
          stdio: "ignore",
        }),
      );
      expect((await waitForPort(P[name], { hosts: [host === "::" ? "::1" : "127.0.0.1"] })).ok, name).toBe(true);
    }
  });
  afterAll(() => {
    for (const c of children)
      try {
        process.kill(-c.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
  });

  it.each(["ss", "proc"] as const)("names each wrongly bound port with the fix (%s)", async (method) => {
    const model = modelOf(
      {
        project: "audit",
        external: { cache: { port: P.cache, description: "redis-like cache" } },
        services: {
          good: { port: P.good, command: "node e.js" },
          wild4: { port: P.wild4, command: "node e.js" },
          wild6: { port: P.wild6, command: "node e.js" },
          pub: { port: P.pub, command: "node e.js", exposure: "public" },
        },
      },
      "/srv/audit",
    );
    const listeners = (await listListeners({ method, ports: Object.values(P) })).filter((l) =>
      Object.values(P).includes(l.port),
    );
    const findings = auditExposure(model, listeners);
    expect(findings.map((f) => [f.severity, f.owner.name, f.port])).toEqual(
      [
        ["error", "wild4", P.wild4],
        ["error", "wild6", P.wild6],
        ["error", "cache", P.cache],
        ["warning", "pub", P.pub],
      ].sort((a, b) => (a[0] === b[0] ? (a[2] as number) - (b[2] as number) : a[0] === "error" ? -1 : 1)),
    );
    const wild4 = findings.find((f) => f.owner.name === "wild4")!;
    expect(wild4.message).toMatch(/listens on 0\.0\.0\.0 \(all interfaces\)/);
    expect(wild4.pid).toBe(children[1].pid);
    expect(findings.find((f) => f.owner.name === "wild6")!.message).toMatch(/listens on :: \(all interfaces\)/);
    expect(findings.find((f) => f.owner.name === "cache")!.fix).toMatch(/127\.0\.0\.1/);
  });
});
