/** The text form of `orchestrate proxy status` and the proxy URLs printed after restart. */
import { paint, type Context } from "../context";
import { table } from "../format";
import type { ProxyStatus } from "../../fleet/proxy";
import type { RouteCheck } from "../../verify/routes";

/** nginx running or not, each upstream's instances (in = receives traffic), the route URLs. */
export function printProxyStatus(ctx: Pick<Context, "color">, s: ProxyStatus, write: (line: string) => void): void {
  write(
    s.running
      ? `nginx is running (pid ${s.pid}), listening on ${s.listen}`
      : paint(ctx, "yellow", `nginx is not running (listen ${s.listen}): start it with "orchestrate restart"`),
  );
  const rows = [["UPSTREAM", "INSTANCE", "TRAFFIC"]];
  for (const u of s.upstreams)
    for (const i of u.instances) rows.push([u.service, `127.0.0.1:${i.port}`, i.member ? "in" : "out (down)"]);
  for (const line of table(rows).trimEnd().split("\n")) write(line);
  write("");
  for (const line of table([["URL", "SERVICE"], ...s.routes.map((r) => [r.url, r.service])])
    .trimEnd()
    .split("\n"))
    write(line);
}

/** "proxy URLs (verified through the proxy):" and one line per route with the instance that answered. */
export function printProxyUrls(ctx: Pick<Context, "color">, routes: RouteCheck[], write: (line: string) => void): void {
  if (routes.length === 0) return;
  write("");
  write("proxy URLs (each requested through the proxy, answered by its own service):");
  const rows = routes.map((r) => [
    r.url,
    `→ ${r.service}`,
    r.skipped
      ? `not requested: ${r.skipped}`
      : r.ok
        ? `${paint(ctx, "green", "ok")} ${r.status} from ${r.upstream}`
        : `${paint(ctx, "red", "FAIL")} ${r.error ?? ""}`,
  ]);
  for (const line of table(rows).trimEnd().split("\n")) write(`  ${line}`);
}
