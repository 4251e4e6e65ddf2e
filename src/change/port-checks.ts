/** The live port checks a change makes: a port it is about to take is free; a port it gave up was released. */
import { UsageError } from "../errors";
import { listenersByPort } from "../inspect/listeners";
import { isPortFree } from "../inspect/port-probe";
import { describeHolder } from "../verify/ownership";

/**
 * Who holds `port` now ("PID 4242 (cmd, user bob)", "another process" when only a bind test sees it), or
 * undefined when it is free on every address.
 */
export async function portHolder(port: number): Promise<string | undefined> {
  const holders = (await listenersByPort([port])).get(port) ?? [];
  if (holders.length) return describeHolder(holders[0]);
  return (await isPortFree(port)) ? undefined : "another process";
}

/**
 * Refuses a port given on the command line that something holds now.
 * @throws UsageError (exit 2, nothing written) naming the holder, with `hint` as the fix.
 */
export async function requirePortFree(port: number, flag: string, hint: string): Promise<void> {
  const holder = await portHolder(port);
  if (holder) throw new UsageError(`port ${port} (${flag}) is in use by ${holder}`, hint);
}

/** The holder of a port a change gave up, when it is still held (only listeners count: a bind race is not a holder). */
export async function stillHeld(port: number): Promise<string | undefined> {
  const holders = (await listenersByPort([port])).get(port) ?? [];
  return holders.length ? describeHolder(holders[0]) : undefined;
}
