import { describe, expect, it } from "vitest";
import { availablePorts, formatBudget, groupBudget, groupBudgets, type GroupBudget } from "../../src/model/budget";
import { UsageError } from "../../src/errors";
import type { Model, PortRange } from "../../src/model/types";
import { makeModel, type ServiceInput } from "../helpers/model";

const r = (low: number, high = low): PortRange => ({ low, high });
const argv = ["/bin/true"];

interface Case {
  name: string;
  ranges: PortRange[];
  services?: ServiceInput[];
  allowed?: PortRange[];
  avoid?: number[];
  reserved?: [number, string][];
  external?: number[];
  expected: Omit<GroupBudget, "group" | "ranges">;
  available: number[];
}

function model(c: Omit<Case, "name" | "expected" | "available">): Model {
  return makeModel("/srv/demo", c.services ?? [], {
    groups: [
      { name: "core", ranges: c.ranges, description: "" },
      { name: "other", ranges: [r(1, 65535)], description: "" },
    ],
    external: (c.external ?? []).map((port, i) => ({
      name: `ext${i}`,
      port,
      description: "",
      exposure: "loopback" as const,
    })),
    ports: { allowed: c.allowed, avoid: c.avoid ?? [], reserved: new Map(c.reserved ?? []), allowPrivileged: false },
  });
}

const none = { notAllowed: 0, avoided: 0, reserved: 0, external: 0, services: 0 };
const svc = (name: string, port: number | undefined, group = "core", enabled = true): ServiceInput => ({
  name,
  port,
  group,
  argv,
  enabled,
});

const cases: Case[] = [
  {
    name: "empty group",
    ranges: [r(8000, 8004)],
    expected: { total: 5, used: [], free: 5, nextFree: 8000, blocked: none },
    available: [8000, 8001, 8002, 8003, 8004],
  },
  {
    name: "own services, disabled included, workers ignored",
    ranges: [r(8000, 8004)],
    services: [svc("a", 8000), svc("b", 8002, "core", false), svc("w", undefined)],
    expected: { total: 5, used: [8000, 8002], free: 3, nextFree: 8001, blocked: { ...none, services: 2 } },
    available: [8001, 8003, 8004],
  },
  {
    name: "overlapping ranges count once",
    ranges: [r(8000, 8003), r(8002, 8005), r(8004)],
    expected: { total: 6, used: [], free: 6, nextFree: 8000, blocked: none },
    available: [8000, 8001, 8002, 8003, 8004, 8005],
  },
  {
    name: "a port of another group's service is taken",
    ranges: [r(8000, 8002)],
    services: [svc("x", 8000, "other")],
    expected: { total: 3, used: [], free: 2, nextFree: 8001, blocked: { ...none, services: 1 } },
    available: [8001, 8002],
  },
  {
    name: "avoid, reserved and external, each once with precedence",
    ranges: [r(8000, 8005)],
    avoid: [8000, 8003, 9000],
    reserved: [
      [8001, "critical"],
      [8003, "also avoided"],
    ],
    external: [8002, 8001],
    expected: {
      total: 6,
      used: [],
      free: 2,
      nextFree: 8004,
      blocked: { ...none, avoided: 2, reserved: 1, external: 1 },
    },
    available: [8004, 8005],
  },
  {
    name: "ports.allowed cuts the ranges",
    ranges: [r(7990, 8010)],
    allowed: [r(8000, 8100), r(7995)],
    avoid: [7995],
    expected: { total: 21, used: [], free: 11, nextFree: 8000, blocked: { ...none, notAllowed: 9, avoided: 1 } },
    available: [8000, 8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008, 8009, 8010],
  },
  {
    name: "full group",
    ranges: [r(8000, 8002)],
    services: [svc("a", 8000), svc("b", 8001)],
    reserved: [[8002, "last one"]],
    expected: {
      total: 3,
      used: [8000, 8001],
      free: 0,
      nextFree: undefined,
      blocked: { ...none, reserved: 1, services: 2 },
    },
    available: [],
  },
  {
    name: "entirely outside ports.allowed",
    ranges: [r(5000, 5009)],
    allowed: [r(8000, 8100)],
    expected: { total: 10, used: [], free: 0, nextFree: undefined, blocked: { ...none, notAllowed: 10 } },
    available: [],
  },
  {
    name: "an own service outside the ranges is used but blocks nothing",
    ranges: [r(8000, 8001)],
    services: [svc("a", 9999)],
    expected: { total: 2, used: [9999], free: 2, nextFree: 8000, blocked: none },
    available: [8000, 8001],
  },
];

describe("groupBudget", () => {
  it.each(cases)("$name", (c) => {
    const budget = groupBudget(model(c), "core");
    expect(budget).toEqual({ group: "core", ranges: expect.any(Array), ...c.expected });
    const b = budget.blocked;
    expect(budget.free + b.notAllowed + b.avoided + b.reserved + b.external + b.services).toBe(budget.total);
  });

  it("merges the ranges it reports", () => {
    expect(groupBudget(model({ ranges: [r(8004, 8006), r(8000, 8004)] }), "core").ranges).toEqual([r(8000, 8006)]);
  });

  it("throws UsageError naming the known groups for an unknown group", () => {
    const m = model({ ranges: [r(80)] });
    expect(() => groupBudget(m, "cor")).toThrow(UsageError);
    expect(() => groupBudget(m, "cor")).toThrow('unknown group "cor"; did you mean "core"?');
    expect(() => groupBudget(m, "zzzzzz")).toThrow('unknown group "zzzzzz": expected one of');
    try {
      groupBudget(m, "cor");
    } catch (err) {
      expect((err as UsageError).hint).toBe("known groups: core, other");
    }
  });

  it("groupBudgets covers every group in order", () => {
    expect(groupBudgets(model({ ranges: [r(80)] })).map((b) => b.group)).toEqual(["core", "other"]);
  });

  it("formats the budget line", () => {
    const m = model({ ranges: [r(8000, 8100)], services: [svc("a", 8000), svc("b", 8001)] });
    expect(formatBudget(groupBudget(m, "core"))).toBe("used 2 / free 99 / total 101 — next free 8002");
    const full = model({ ranges: [r(8000)], services: [svc("a", 8000)] });
    expect(formatBudget(groupBudget(full, "core"))).toBe("used 1 / free 0 / total 1 — full");
  });
});

describe("availablePorts", () => {
  it.each(cases)("$name", (c) => {
    expect([...availablePorts(model(c), "core")]).toEqual(c.available);
  });

  it("skips ports held by a live process and honours limit", () => {
    const m = model({ ranges: [r(8000, 8010)], services: [svc("a", 8001)] });
    const held = new Set([8000, 8003]);
    expect([...availablePorts(m, "core", { isHeld: (p) => held.has(p), limit: 3 })]).toEqual([8002, 8004, 8005]);
    expect([...availablePorts(m, "core", { limit: 0 })]).toEqual([]);
  });

  it("is lazy over a 1-65535 group", () => {
    const m = model({ ranges: [r(1, 65535)], services: [svc("a", 1)] });
    const it = availablePorts(m, "other");
    expect(it.next().value).toBe(2);
  });

  it("throws UsageError for an unknown group on first use", () => {
    expect(() => [...availablePorts(model({ ranges: [r(80)] }), "nope")]).toThrow(UsageError);
  });
});

describe("scale", () => {
  it("computes every budget of a 10,000-service model", () => {
    const groups = Array.from({ length: 100 }, (_, g) => ({
      name: `g${g}`,
      ranges: [r(10000 + g * 500, 10000 + g * 500 + 499)],
      description: "",
    }));
    const services = Array.from({ length: 10000 }, (_, i) => ({
      name: `s${i}`,
      argv,
      group: `g${i % 100}`,
      port: 10000 + (i % 100) * 500 + Math.floor(i / 100),
    }));
    const m = makeModel("/srv/demo", services, {
      groups,
      ports: { avoid: [5000], reserved: new Map(), allowPrivileged: false },
    });
    const budgets = groupBudgets(m);
    expect(budgets).toHaveLength(100);
    expect(budgets[0]).toMatchObject({ total: 500, free: 400, nextFree: 10100 });
    expect(budgets[0].used).toHaveLength(100);
  });
});
