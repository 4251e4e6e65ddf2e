/**
 * `supervisorctl update` over XML-RPC (supervisord docs, "XML-RPC API Documentation": `reloadConfig`,
 * `stopProcessGroup`, `removeProcessGroup`, `addProcessGroup`, `getAllConfigInfo`): supervisord reads its
 * configuration again, and the groups that were added, changed or removed are applied — stopped and removed,
 * then added in priority order. Shared by the private supervisord's apply and by the machine's supervisord
 * after `install --supervisor-conf-dir` (./backend.ts).
 */
import { OperationError } from "../../errors";
import type { ApplyResult } from "../types";
import { SupervisorFault, type SupervisorRpc } from "./client";

/** The fields of `getAllConfigInfo` used here: name, `priority=` of its group, `stopwaitsecs=` (s). */
export interface ConfigInfo {
  name: string;
  group_prio: number;
  stopwaitsecs: number;
}

/** [added, changed, removed] group names, as `reloadConfig` returns them. */
export type RereadDiff = [string[], string[], string[]];

/**
 * The configuration set supervisord has loaded (`getAllConfigInfo`), fetched once until {@link forget}: a
 * restart of 30 programs stops them in parallel, and 30 calls that each serialize every program's config kept
 * supervisord busy (bench/restart).
 */
export class LoadedConfigs {
  private configs?: Promise<Map<string, ConfigInfo>>;

  constructor(private readonly rpc: SupervisorRpc) {}

  /** name → config of every program loaded now (a failed fetch is not kept). */
  get(): Promise<Map<string, ConfigInfo>> {
    this.configs ??= this.rpc.call<ConfigInfo[]>("supervisor.getAllConfigInfo").then(
      (infos) => new Map(infos.map((c) => [c.name, c])),
      (err) => {
        this.configs = undefined;
        throw err;
      },
    );
    return this.configs;
  }

  /** Drops the cached set: `reloadConfig` or a group added or removed changed it. */
  forget(): void {
    this.configs = undefined;
  }
}

/**
 * How long a waiting stop of `name` may take (ms): its `stopwaitsecs` plus the RPC timeout; 60 s plus it when
 * the program is not loaded.
 */
export function stopWaitMs(configs: Map<string, ConfigInfo>, name: string, rpcTimeoutMs: number): number {
  return (configs.get(name)?.stopwaitsecs ?? 60) * 1000 + rpcTimeoutMs;
}

/** Runs an RPC, treating the listed faults as success. @throws every other error of `call`. */
export async function ignoringFaults(
  faults: SupervisorFault["faultName"][],
  call: () => Promise<unknown>,
): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (err instanceof SupervisorFault && faults.includes(err.faultName)) return;
    throw err;
  }
}

/**
 * `reloadConfig`: supervisord reads its configuration again.
 * @returns the group names it found added, changed and removed
 * @throws OperationError naming `what`, with `hint`, when it cannot (CANT_REREAD: a file it refuses).
 */
export async function reread(rpc: SupervisorRpc, what: string, hint: string): Promise<RereadDiff> {
  try {
    return (await rpc.call<RereadDiff[]>("supervisor.reloadConfig"))[0];
  } catch (err) {
    if (err instanceof SupervisorFault && err.is("CANT_REREAD")) {
      throw new OperationError(`supervisord cannot read ${what}: ${err.faultString}`, hint);
    }
    throw err;
  }
}

/** Options of {@link updateGroups}. */
export interface UpdateOptions {
  /** only these names of the reread's diff are touched (another application's groups stay as they are); default all */
  ours?: Set<string>;
  /** which changed groups to reload now; the others are held (default all) */
  select?: (name: string) => boolean;
  /** RPC timeout added to each stop's stopwaitsecs (ms) */
  rpcTimeoutMs: number;
}

/**
 * The `supervisorctl update` steps after a reread's `diff`: changed and removed groups are stopped (waiting up
 * to their stopwaitsecs) and removed, then changed and added ones are added in `priority=` order. A changed
 * group that `select` leaves out keeps its process group, and so its loaded configuration, until a later
 * update selects it: it is reported in `held`. `before` is the configuration set from before the reread.
 * @throws SupervisorFault or a connection error when supervisord refuses or stops answering a step.
 */
export async function updateGroups(
  rpc: SupervisorRpc,
  configs: LoadedConfigs,
  before: Map<string, ConfigInfo>,
  diff: RereadDiff,
  options: UpdateOptions,
): Promise<ApplyResult> {
  const mine = (name: string) => options.ours === undefined || options.ours.has(name);
  const select = options.select ?? (() => true);
  const [added, allChanged, removed] = diff.map((names) => names.filter(mine)) as RereadDiff;
  const changed = allChanged.filter(select);
  const held = allChanged.filter((n) => !select(n));
  await Promise.all(
    [...changed, ...removed].map((name) =>
      ignoringFaults(["BAD_NAME"], () =>
        rpc.request("supervisor.stopProcessGroup", [name, true], {
          timeoutMs: stopWaitMs(before, name, options.rpcTimeoutMs),
        }),
      ),
    ),
  );
  for (const name of [...changed, ...removed])
    await ignoringFaults(["BAD_NAME"], () => rpc.call("supervisor.removeProcessGroup", name));
  configs.forget(); // reloadConfig replaced supervisord's config set: fetch the new one (kept until the next update)
  const after = await configs.get();
  const prio = (name: string) => after.get(name)?.group_prio ?? 999;
  const toAdd = [...changed, ...added].sort((a, b) => prio(a) - prio(b) || a.localeCompare(b));
  for (const name of toAdd) await ignoringFaults(["ALREADY_ADDED"], () => rpc.call("supervisor.addProcessGroup", name));
  return { added, changed, removed, ...(held.length ? { held } : {}) };
}
