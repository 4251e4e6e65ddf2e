/**
 * nftables: check a ruleset file (`nft -c -f`: parsed and validated by the kernel, nothing applied; nft(8)
 * "-c, --check") and apply it, only when asked, on this host or inside a network namespace
 * (`ip netns exec NS nft -f FILE`: ip-netns(8)). The only code that runs nft. Needs root (CAP_NET_ADMIN).
 */
import { OperationError } from "../../errors";
import { run } from "../../exec/run";

/** Outcome of an nft call. */
export interface NftResult {
  ok: boolean;
  /** nft's message on failure (file:line: Error: …). */
  message: string;
}

/** The nft executable: $ORCHESTRATE_NFT, else /usr/sbin/nft (Debian package nftables). */
export function nftBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.ORCHESTRATE_NFT || "/usr/sbin/nft";
}

async function nft(args: string[], netns?: string): Promise<NftResult> {
  const [file, argv] =
    netns === undefined ? [nftBinary(), args] : ["/usr/sbin/ip", ["netns", "exec", netns, nftBinary(), ...args]];
  const r = await run(file, argv, { timeoutMs: 30_000 });
  if (r.failedToStart) return { ok: false, message: `${file} could not be started: install nftables and iproute2` };
  return { ok: r.exitCode === 0, message: (r.stderr || r.stdout).trim() };
}

/** `nft -c -f FILE`: whether nft accepts the ruleset, without applying it. */
export function checkRuleset(file: string): Promise<NftResult> {
  return nft(["-c", "-f", file]);
}

/**
 * Applies the ruleset file (`nft -f FILE`, one atomic transaction). `confirm` must be true: a firewall is applied
 * only when the user asked (`install --firewall --yes`). With `netns` it applies inside that network namespace
 * only (tests). Checks first; @throws OperationError (exit 1) with nft's message when it refuses.
 */
export async function applyRuleset(file: string, options: { confirm: boolean; netns?: string }): Promise<void> {
  if (!options.confirm)
    throw new OperationError(`not applying ${file}: a firewall is applied only when asked`, "add --yes");
  const check = await nft(["-c", "-f", file], options.netns);
  if (!check.ok) throw new OperationError(`nft refused ${file}: ${check.message}`);
  const r = await nft(["-f", file], options.netns);
  if (!r.ok) throw new OperationError(`nft -f ${file} failed: ${r.message}`);
}

/** `nft list table inet NAME` (inside `netns` when given); undefined when the table does not exist. */
export async function listTable(table: string, netns?: string): Promise<string | undefined> {
  const r = await nft(["list", "table", "inet", table], netns);
  return r.ok ? r.message : undefined;
}
