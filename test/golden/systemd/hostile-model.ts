/**
 * A project full of values that break naive unit writers: spaces, quotes, `%`, `$`, `${X}`, `;` as a
 * word, `#`, `,`, `=`, backslashes, unicode, empty strings, tab/newline in argv. Used by the golden test
 * (root /srv/demo) and by the systemd oracle test (root in a temp dir, argv[0] a real binary).
 */
import { join } from "node:path";
import type { Model } from "../../../src/model/types";
import { makeModel } from "../../helpers/model";

/** Every hostile ExecStart word after argv[0]. */
export const HOSTILE_ARGS = [
  "two words",
  'say "hi"',
  "100%",
  "%n",
  "$HOME",
  "${X}",
  "$$",
  ";",
  "#",
  "# not a comment",
  "a,b",
  "k=v",
  "back\\slash",
  "trailing\\",
  "\\t literally",
  "tab\there",
  "line\nbreak",
  "'single'",
  "`tick`",
  "ünïcødé ✓ 🚀",
  "",
  "--port=8001",
];

/** Every hostile Environment value. */
export const HOSTILE_ENV: Record<string, string> = {
  LOG_LEVEL: "info",
  T_DQ: 'say "hi" now',
  T_PCT: "100%",
  T_SPEC: "%n %i",
  T_DOLLAR: "$HOME ${X} $$",
  T_SEMI: "a ; b",
  T_HASH: "# not a comment",
  T_URL: "http://x:80/p?q=1&r=2",
  T_BS: "C:\\path\\",
  T_EMPTY: "",
  T_SPACES: "  padded  ",
  T_UNI: "ünï 🚀",
  T_EQ: "a=b=c",
  T_COMMA: "a,b",
  T_QUOTE: '"',
  T_SQ: "'",
};

/** Folder names that need `%%` in unquoted paths and quoting in path lists. */
export const HOSTILE_DIR = 'app dir #1 %x $y "q"';

/**
 * The hostile project rooted at `root`; `program` is argv[0] of every service (an existing absolute
 * binary for systemd-analyze verify).
 */
export function hostileModel(root: string, program: string): Model {
  const app = join(root, HOSTILE_DIR);
  return makeModel(root, [
    {
      name: "trade_manager",
      port: 8000,
      argv: [program, "manager.js", "--port", "8000"],
      description: "Trade manager",
      group: "core",
    },
    {
      name: "trade_executor",
      port: 8001,
      argv: [program, ...HOSTILE_ARGS],
      directory: app,
      env: HOSTILE_ENV,
      envFile: join(app, "secrets", "trade executor %.env"),
      description: 'Trade "execution" 100% ; # $x',
      dependsOn: ["trade_manager", "old_poller"],
      stopSignal: "HUP",
      stopTimeout: 25,
      restartSec: 0.5,
      level: 1,
    },
    {
      name: "watchdog.v2",
      port: 8002,
      argv: [program, "watchdog.js"],
      directory: app,
      description: "Watchdog in a strict sandbox",
      hardening: "strict",
      dependsOn: ["trade_executor"],
      stdoutLog: join(app, "logs", "watchdog.v2.out.log"),
      stderrLog: join(app, "logs", "watchdog.v2.err.log"),
      level: 2,
    },
    {
      name: "worker",
      argv: [program, "worker.js"],
      hardening: "strict",
      stopSignal: "INT",
      user: "daemon",
    },
    {
      name: "old_poller",
      port: 8003,
      argv: [program, "poller.js"],
      enabled: false,
      description: "Disabled: keeps port 8003 reserved, gets no unit",
    },
  ]);
}
