/**
 * The port-artifact test project rooted at a fixed path: two groups (one with overlapping ranges), a
 * disabled service, a worker, an ungrouped service, externals with free-form names and hosts, reserved
 * and avoided ports, and descriptions built to break every target (quotes of both kinds, triple quotes,
 * backslashes, `|`, newlines, `%`, `$`, `#`, backticks, HTML, NUL, U+2028, emoji, a lone surrogate).
 */
import type { Model } from "../../../src/model/types";
import { makeModel } from "../../helpers/model";

export const HOSTILE = `He said "hi" & 'bye' """triple""" '''single''' \\ back\\slash | pipe\nline 2\r\n100% $HOME #x \`tick\` <b>bold</b> \u0000nul \u2028sep é 日本 🚀 \ud800`;

export function artifactsModel(root = "/srv/demo"): Model {
  const argv = ["/usr/bin/python3", "-m", "http.server"];
  return makeModel(
    root,
    [
      { name: "main_app", group: "core", port: 3000, argv, technology: "python", description: "Main web application" },
      { name: "trade_executor", group: "core", port: 8001, argv, technology: "python", description: HOSTILE },
      {
        name: "trade-manager",
        group: "core",
        port: 4000,
        argv,
        technology: "node | ts",
        description: "Trade management\nservice",
      },
      { name: "old_poller", group: "core", port: 8003, argv, enabled: false, description: "Retired; port kept" },
      { name: "btc_price_watchdog", group: "watchdog", port: 8002, argv, description: "Bitcoin price monitoring" },
      { name: "db.poller", group: "watchdog", port: 8010, argv, description: "Database polling service" },
      { name: "cleanup", group: "watchdog", argv, technology: "python", description: "Nightly cleanup worker" },
      { name: "adhoc", port: 9500, argv, description: "" },
    ],
    {
      project: "demo",
      host: "127.0.0.1",
      groups: [
        {
          name: "core",
          ranges: [
            { low: 3000, high: 4000 },
            { low: 8001, high: 8009 },
            { low: 8005, high: 8009 },
          ],
          description: "Core services",
        },
        { name: "watchdog", ranges: [{ low: 8002, high: 8100 }], description: "Watchdog | monitors" },
      ],
      external: [
        { name: "postgres", port: 5432, description: 'Primary database "pg"', exposure: "loopback" },
        { name: "redis cache|x", port: 6379, host: "10.0.0.5", description: "", exposure: "loopback" },
      ],
      ports: {
        allowed: [
          { low: 3000, high: 4000 },
          { low: 5432, high: 5432 },
          { low: 6379, high: 6379 },
          { low: 8000, high: 9600 },
        ],
        avoid: [9000, 5000, 7000],
        reserved: new Map([
          [8083, "last free port: critical service only"],
          [8004, 'keep for "x" | y\\z'],
        ]),
        allowPrivileged: false,
      },
    },
  );
}
