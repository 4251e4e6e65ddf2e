/** checkHealth against a real node HTTP server on 127.0.0.1:22050 (and ::1:22051). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth } from "../../src/verify/health";
import { startReady, stopAll } from "../helpers/listeners";

const SERVER_JS = `
const http = require("http");
const handler = (req, res) => {
  if (req.url === "/health") { res.writeHead(200); res.end("ok"); }
  else if (req.url === "/created") { res.writeHead(204); res.end(); }
  else if (req.url === "/fail") { res.writeHead(500); res.end("boom"); }
  else if (req.url === "/moved") { res.writeHead(302, { location: "/health" }); res.end(); }
  else if (req.url === "/slow") { /* never answers */ }
  else if (req.url === "/reset") { req.socket.destroy(); }
  else { res.writeHead(404); res.end(); }
};
let up = 0;
const ready = () => { if (++up === 2) console.log("ready"); };
http.createServer(handler).listen({ host: "127.0.0.1", port: 22050 }, ready);
http.createServer(handler).listen({ host: "::1", port: 22051 }, ready);
`;

beforeAll(async () => {
  await startReady([process.execPath, "-e", SERVER_JS]);
});
afterAll(stopAll);

describe("checkHealth", () => {
  it("2xx is healthy (URL and parts forms, v4 and v6 loopback)", async () => {
    expect(await checkHealth("http://127.0.0.1:22050/health")).toMatchObject({ ok: true, status: 200 });
    expect(await checkHealth({ port: 22050, path: "/created" })).toMatchObject({
      ok: true,
      status: 204,
      url: "http://127.0.0.1:22050/created",
    });
    expect(await checkHealth({ host: "::1", port: 22051, path: "health" })).toMatchObject({
      ok: true,
      status: 200,
      url: "http://[::1]:22051/health",
    });
    expect(await checkHealth("http://localhost:22050/health")).toMatchObject({ ok: true });
  });
  it("non-2xx is unhealthy and says the status", async () => {
    const r = await checkHealth({ port: 22050, path: "/fail" });
    expect(r).toMatchObject({ ok: false, status: 500 });
    expect(r.error).toMatch(/status 500, expected 2xx/);
    expect(await checkHealth({ port: 22050, path: "/moved" })).toMatchObject({ ok: false, status: 302 });
  });
  it("a hung endpoint times out after timeoutMs", async () => {
    const r = await checkHealth({ port: 22050, path: "/slow" }, 300);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/no answer within 300 ms/);
    expect(r.ms).toBeGreaterThanOrEqual(299);
    expect(r.ms).toBeLessThan(2000);
  });
  it("refused and reset connections explain themselves", async () => {
    const refused = await checkHealth({ port: 22052, path: "/health" });
    expect(refused).toMatchObject({ ok: false });
    expect(refused.error).toMatch(/connection refused: nothing listens on 127\.0\.0\.1:22052/);
    const reset = await checkHealth({ port: 22050, path: "/reset" });
    expect(reset.ok).toBe(false);
    expect(reset.error).toMatch(/reset|hang up/i);
  });
  it("never contacts a non-loopback host and rejects bad targets", async () => {
    const remote = await checkHealth("http://192.0.2.1:80/health", 5000);
    expect(remote.ok).toBe(false);
    expect(remote.error).toMatch(/points at 192\.0\.2\.1; expected 127\.0\.0\.1/);
    expect(remote.ms).toBeLessThan(50);
    expect((await checkHealth("not a url")).error).toMatch(/not a valid URL/);
    expect((await checkHealth("https://127.0.0.1:22050/")).error).toMatch(/only http:/);
  });
});
