/** supervisord's activity log → restarts and last exit (src/backend/supervisord/crash-history.ts). */
import { describe, expect, it } from "vitest";
import { parseCrashHistory } from "../../src/backend/supervisord/crash-history";
import { toCrashHistory, toUnitRecord } from "../../src/backend/systemd/show";

const t = (hms: string) => new Date(`2026-12-02T${hms}`).getTime(); // supervisord logs local time
const LOG = `2026-12-02 06:00:00,000 INFO supervisord started with pid 10
2026-12-02 06:00:01,000 INFO spawned: 'api' with pid 11
2026-12-02 06:00:05,000 WARN exited: api (exit status 1; not expected)
2026-12-02 06:00:00,500 INFO supervisord started with pid 20
2026-12-02 07:00:00,000 INFO spawned: 'api' with pid 21
2026-12-02 07:00:00,100 INFO spawned: 'web' with pid 22
2026-12-02 07:00:01,100 INFO success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)
2026-12-02 07:00:00,400 WARN exited: api (exit status 3; not expected)
2026-12-02 07:00:01,500 INFO spawned: 'api' with pid 23
2026-12-02 07:00:01,900 WARN exited: api (exit status 3; not expected)
2026-12-02 07:00:04,000 INFO spawned: 'api' with pid 24
2026-12-02 07:00:05,000 INFO success: api entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)
2026-12-02 07:10:05,000 WARN exited: web (terminated by SIGKILL; not expected)
2026-12-02 07:10:06,000 INFO spawned: 'web' with pid 25
2026-12-02 07:20:00,000 INFO waiting for web to stop
2026-12-02 07:20:00,200 INFO stopped: web (terminated by SIGTERM)
2026-12-02 07:20:01,000 INFO spawned: 'web' with pid 26
`;

describe("parseCrashHistory", () => {
  const { programs, complete } = parseCrashHistory(LOG);
  it("counts respawns after an exit since the LAST supervisord start, not requested stop/start", () => {
    expect(complete).toBe(true);
    expect(programs.get("api")!.restarts).toBe(2);
    expect(programs.get("web")!.restarts).toBe(1);
  });
  it("the last exit: code or signal, when, how long it had run, requested or not", () => {
    expect(programs.get("api")!.lastExit).toEqual({
      at: t("07:00:01.900"),
      code: 3,
      signal: undefined,
      ranSeconds: 0.4,
      expected: false,
      requested: false,
    });
    expect(programs.get("web")!.lastExit!.ranSeconds).toBeCloseTo(594.2, 3);
    expect(programs.get("web")!.lastExit).toMatchObject({
      signal: "SIGTERM",
      requested: true,
      at: t("07:20:00.200"),
    });
  });
  it("without a start line in what was read, the history is marked incomplete", () => {
    expect(parseCrashHistory(LOG.split("\n").slice(5).join("\n")).complete).toBe(false);
  });
});

describe("systemd toCrashHistory", () => {
  it("NRestarts and the exit by signal from ExecMainCode 2 / ExecMainStatus 9", () => {
    const record = toUnitRecord({
      Id: "demo-api.service",
      NRestarts: "4",
      ExecMainCode: "2",
      ExecMainStatus: "9",
      ExecMainStartTimestampMonotonic: String(100e6),
      ExecMainExitTimestampMonotonic: String(160e6),
      Result: "signal",
    });
    const h = toCrashHistory(record, 170e6, 1_000_000_000);
    expect(h).toEqual({
      restarts: 4,
      lastExit: { at: 1_000_000_000 - 10_000, code: undefined, signal: "SIGKILL", ranSeconds: 60, expected: false },
    });
  });
});
