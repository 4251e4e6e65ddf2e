/** The exposure audit over the model and a listener table (src/verify/exposure.ts), with listeners made by hand. */
import { describe, expect, it } from "vitest";
import type { Listener } from "../../src/inspect/listeners";
import { auditExposure } from "../../src/verify/exposure";
import { edgeModel } from "../golden/edge/model";

const listener = (port: number, address: string, pid = 100 + (port % 100)): Listener => ({
  address,
  port,
  family: address.includes(":") ? 6 : 4,
  pid,
  pids: [pid],
  command: `prog-${port}`,
  processes: [],
  source: "ss",
});

describe("exposure audit", () => {
  const model = edgeModel("/srv/demo"); // users 8001 loopback (routed), metrics 8005 internal, pub 8006 public, redis 6379

  it("finds nothing when every port listens where its exposure says", () => {
    const ls = [
      listener(8001, "127.0.0.1"),
      listener(8005, "0.0.0.0"),
      listener(8006, "::"),
      listener(6379, "127.0.0.1"),
      listener(6379, "::1"),
    ];
    expect(auditExposure(model, ls)).toEqual([]);
  });

  it("a loopback service on 0.0.0.0 or :: is an error with the fix", () => {
    const [a, b] = auditExposure(model, [listener(8001, "0.0.0.0"), listener(8002, "::")]);
    expect(a).toMatchObject({
      severity: "error",
      port: 8001,
      owner: { kind: "service", name: "users" },
      addresses: ["0.0.0.0"],
      pid: 101,
    });
    expect(a.message).toBe(
      'service users is "loopback" but port 8001 listens on 0.0.0.0 (all interfaces): other hosts can reach it',
    );
    expect(a.fix).toMatch(/bind \{bind\} \/ \$BIND_ADDRESS \(127\.0\.0\.1\) instead of 0\.0\.0\.0/);
    expect(b).toMatchObject({ severity: "error", port: 8002, addresses: ["::"] });
  });

  it("Redis on all interfaces is an error naming redis.conf", () => {
    const [f] = auditExposure(model, [listener(6379, "0.0.0.0"), listener(6379, "127.0.0.1")]);
    expect(f).toMatchObject({ severity: "error", port: 6379, owner: { kind: "external", name: "redis" } });
    expect(f.addresses).toEqual(["0.0.0.0", "127.0.0.1"]);
    expect(f.fix).toMatch(/bind 127\.0\.0\.1 -::1.*redis\.conf/);
  });

  it("a loopback port on a LAN address counts too", () => {
    expect(auditExposure(model, [listener(8003, "10.0.0.5")])[0].message).toMatch(
      /listens on 10\.0\.0\.5: other hosts/,
    );
  });

  it("a public or internal port on loopback only is a warning; errors sort first", () => {
    const fs = auditExposure(model, [listener(8006, "127.0.0.1"), listener(8001, "0.0.0.0")]);
    expect(fs.map((f) => [f.severity, f.port])).toEqual([
      ["error", 8001],
      ["warning", 8006],
    ]);
    expect(fs[1].message).toMatch(/"public" but port 8006 listens on 127\.0\.0\.1 only/);
  });

  it("ignores ports nobody listens on, and disabled services", () => {
    expect(auditExposure(model, [listener(8099, "0.0.0.0")])).toEqual([]);
  });
});
