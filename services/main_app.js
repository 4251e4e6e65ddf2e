// The example fleet's main web application (plain Node, no dependencies).
// Binds PORT on HOST (default 127.0.0.1); GET /health answers 200 {"service", "status": "ok"}; GET /
// lists the fleet's ports from the generated units/ports.json when it exists — code that needs another
// service's port reads that file, never a hand-kept table. SIGTERM/SIGINT close it and exit 0.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

const name = process.env.SERVICE_NAME || "main_app";
const host = process.env.HOST || "127.0.0.1";
const healthPath = process.env.HEALTH_PATH || "/health";
const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(
    `${name}: expected PORT=1-65535 in the environment, found ${JSON.stringify(process.env.PORT ?? "")}; run it through orchestrate (test-start ${name}) or set PORT`,
  );
  process.exit(2);
}

/** The generated port table, or undefined before `orchestrate generate` has run. */
function fleetPorts() {
  try {
    return JSON.parse(fs.readFileSync(path.join(process.cwd(), "units", "ports.json"), "utf8"));
  } catch {
    return undefined;
  }
}

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

const server = http.createServer((req, res) => {
  const url = (req.url || "/").split("?")[0];
  if (url === healthPath) return reply(res, 200, { service: name, status: "ok" });
  if (url === "/")
    return reply(res, 200, {
      service: name,
      port,
      pid: process.pid,
      uptime_s: Math.round(process.uptime() * 10) / 10,
      fleet: fleetPorts(),
    });
  return reply(res, 404, { service: name, error: `no route ${url}` });
});

server.on("error", (error) => {
  console.error(`${name}: cannot bind ${host}:${port}: ${error.code || error.message}`);
  process.exit(1);
});

server.listen(port, host, () => console.log(`${name} listening on ${host}:${port}`));

function stop() {
  server.close(() => {
    console.log(`${name} stopped`);
    process.exit(0);
  });
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 800).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
