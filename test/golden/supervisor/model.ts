/**
 * The model behind the supervisord golden files and the oracle end-to-end test: every hostile value the
 * supervisord renderer must carry exactly (docs/facts.md "supervisord: how a value is read"). `root` is
 * /srv/demo for the goldens and a real temp folder for the oracle.
 */
import { join } from "node:path";
import type { Model } from "../../../src/model/types";
import { makeModel } from "../../helpers/model";

/** argv words that each break a naive writer: quotes, `%`, comments, expansions, unicode, empty. */
export const HOSTILE_WORDS = [
  "two words",
  "a ;b",
  "a #b",
  "x;y#z",
  "100%",
  "%(ENV_HOME)s",
  "%(here)s",
  "%%(here)s",
  "$HOME",
  "~",
  "*",
  "it's",
  'say "hi"',
  "back\\slash\\",
  "tab\there",
  "naïve ☃ 😀",
  "",
  "k=v,w",
  "\u00a0;nbsp",
  "\u3000#ideographic",
  "--flag=a b",
];

/** Env values supervisord's environment= can hold inline, each quoted. */
export const INLINE_ENV: Record<string, string> = {
  LOG_LEVEL: "info",
  T_URL: "http://x:80/p?q=1&r=2",
  T_PCT: "100%",
  T_DQ: 'say "hi" now',
  T_SQ: "it's",
  T_COMMA: "a,b=c",
  T_HASH: "a#b;c",
  T_EMPTY: "",
  T_UNI: "naïve ☃ 😀",
  T_BS: "C:\\dir\\",
  T_ENVREF: "%(ENV_HOME)s",
  T_DOLLAR: "$HOME ${X}",
};

/** Env values it cannot: they go to units/env/hostile_env.env, loaded by units/bin/envfile-exec. */
export const FILE_ENV: Record<string, string> = {
  T_BOTH: `it's "x"`,
  T_LEADQ: '"quoted"',
  T_TRAILQ: "end'",
  T_CMT: "a #b",
  T_SEMI: "x ;y",
  T_NL: "line1\nline2\n",
  T_HERE: "%(here)s/x",
  T_BSQ: `back\\slash $X \`cmd\` "dq" 'sq'`,
};

/** api (inline hostile values, user, INT), worker (envFile, odd directory), hostile_env (wrapper), legacy (disabled). */
export function hostileModel(root: string, argv0 = "/srv/demo/bin/server", user = "trader"): Model {
  return makeModel(root, [
    {
      name: "api",
      port: 18096,
      group: "core",
      argv: [argv0, "--port", "18096", ...HOSTILE_WORDS],
      env: INLINE_ENV,
      user,
      stopSignal: "INT",
      stopTimeout: 2.5,
      startSecs: 3,
    },
    {
      name: "worker",
      argv: [argv0, "work"],
      directory: join(root, "work dir %x"),
      envFile: join(root, "secrets", "worker.env"),
      dependsOn: ["api"],
      level: 1,
      programPriority: 200,
    },
    { name: "hostile_env", port: 18097, argv: [argv0, "env"], env: { FINE: "fine", ...FILE_ENV } },
    { name: "legacy", port: 18098, argv: [argv0], enabled: false },
  ]);
}
