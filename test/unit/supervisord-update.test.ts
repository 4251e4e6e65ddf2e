/**
 * The `supervisorctl update` steps (src/backend/supervisord/update.ts) against a scripted RPC: which groups are
 * stopped, removed and added, in which order, and what is held or left to another application. That real
 * supervisord accepts these calls: test/e2e/supervisord-backend.test.ts and system-supervisord*.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { SupervisorRpc } from "../../src/backend/supervisord/client";
import { SupervisorFault } from "../../src/backend/supervisord/client";
import { Faults } from "../../src/backend/supervisord/states";
import { LoadedConfigs, reread, stopWaitMs, updateGroups, type ConfigInfo } from "../../src/backend/supervisord/update";
import { OperationError } from "../../src/errors";

/** A fake RPC: records each call (with its timeout), answers getAllConfigInfo from `loaded`. */
function scripted(loaded: ConfigInfo[], faults: Record<string, keyof typeof Faults> = {}) {
  const calls: string[] = [];
  const timeouts = new Map<string, number | undefined>();
  const answer = async (method: string, params: unknown[], timeoutMs?: number) => {
    const key = `${method.replace("supervisor.", "")}(${params.join(",")})`;
    calls.push(key);
    timeouts.set(key, timeoutMs);
    await new Promise((r) => setImmediate(r));
    if (faults[key]) throw new SupervisorFault(Faults[faults[key]], `${faults[key]}: ${params[0]}`, method);
    if (method === "supervisor.getAllConfigInfo") return loaded;
    if (method === "supervisor.reloadConfig") return [[["new"], ["api", "web"], ["gone"]]];
    return true;
  };
  const rpc = {
    call: (method: string, ...params: unknown[]) => answer(method, params),
    request: (method: string, params: unknown[], o: { timeoutMs?: number } = {}) => answer(method, params, o.timeoutMs),
  } as unknown as SupervisorRpc;
  return { rpc, calls, timeouts };
}

const info = (name: string, group_prio: number, stopwaitsecs = 10): ConfigInfo => ({ name, group_prio, stopwaitsecs });

describe("updateGroups", () => {
  it("stops changed and removed groups (each waiting its stopwaitsecs), removes them, then adds by priority", async () => {
    const { rpc, calls, timeouts } = scripted([info("web", 300), info("api", 200, 30), info("new", 100)]);
    const configs = new LoadedConfigs(rpc);
    const before = new Map([info("web", 300), info("api", 200, 30), info("gone", 50, 5)].map((c) => [c.name, c]));
    const result = await updateGroups(rpc, configs, before, [["new"], ["api", "web"], ["gone"]], {
      rpcTimeoutMs: 1000,
    });
    expect(result).toEqual({ added: ["new"], changed: ["api", "web"], removed: ["gone"] });
    expect(calls).toEqual([
      "stopProcessGroup(api,true)",
      "stopProcessGroup(web,true)",
      "stopProcessGroup(gone,true)",
      "removeProcessGroup(api)",
      "removeProcessGroup(web)",
      "removeProcessGroup(gone)",
      "getAllConfigInfo()",
      "addProcessGroup(new)", // priority 100
      "addProcessGroup(api)", // 200
      "addProcessGroup(web)", // 300
    ]);
    expect(timeouts.get("stopProcessGroup(api,true)")).toBe(31_000);
    expect(timeouts.get("stopProcessGroup(gone,true)")).toBe(6_000);
  });

  it("touches only `ours`; a changed group `select` leaves out is held, not stopped", async () => {
    const { rpc, calls } = scripted([info("api", 200), info("web", 300)]);
    const result = await updateGroups(rpc, new LoadedConfigs(rpc), new Map(), [["new"], ["api", "web"], ["gone"]], {
      ours: new Set(["api", "web", "gone"]),
      select: (n) => n !== "web",
      rpcTimeoutMs: 1000,
    });
    expect(result).toEqual({ added: [], changed: ["api"], removed: ["gone"], held: ["web"] });
    expect(calls.filter((c) => c.includes("web") || c.includes("new"))).toEqual([]);
  });

  it("a group already gone (BAD_NAME) or already added (ALREADY_ADDED) is fine; another fault is thrown", async () => {
    const fine = scripted([info("api", 1)], {
      "stopProcessGroup(gone,true)": "BAD_NAME",
      "addProcessGroup(api)": "ALREADY_ADDED",
    });
    await expect(
      updateGroups(fine.rpc, new LoadedConfigs(fine.rpc), new Map(), [[], ["api"], ["gone"]], { rpcTimeoutMs: 1 }),
    ).resolves.toMatchObject({ changed: ["api"], removed: ["gone"] });
    const bad = scripted([info("api", 1)], { "addProcessGroup(api)": "CANT_REREAD" });
    await expect(
      updateGroups(bad.rpc, new LoadedConfigs(bad.rpc), new Map(), [[], ["api"], []], { rpcTimeoutMs: 1 }),
    ).rejects.toBeInstanceOf(SupervisorFault);
  });
});

describe("reread and the loaded set", () => {
  it("CANT_REREAD becomes an OperationError naming what could not be read, with the hint", async () => {
    const { rpc } = scripted([], { "reloadConfig()": "CANT_REREAD" });
    const err = await reread(rpc, "units/supervisord.conf or its includes", "run generate").catch((e) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect(err.message).toMatch(/supervisord cannot read units\/supervisord\.conf or its includes: CANT_REREAD/);
    expect(err.hint).toBe("run generate");
  });

  it("getAllConfigInfo is fetched once until forget(); stopWaitMs is 60 s + the RPC timeout for an unknown program", async () => {
    const { rpc, calls } = scripted([info("api", 1, 7)]);
    const configs = new LoadedConfigs(rpc);
    const [a, b] = await Promise.all([configs.get(), configs.get()]);
    expect(a).toBe(b);
    configs.forget();
    await configs.get();
    expect(calls).toEqual(["getAllConfigInfo()", "getAllConfigInfo()"]);
    expect(stopWaitMs(a, "api", 500)).toBe(7_500);
    expect(stopWaitMs(a, "nope", 500)).toBe(60_500);
  });
});
