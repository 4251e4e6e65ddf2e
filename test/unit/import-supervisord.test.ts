/**
 * importSupervisordConf and the secrets rules: the REC.IO fixture with its legacy manifest, then tables
 * of small configs. argv/env fidelity against supervisor itself is in test/e2e/ini-reader-oracle.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { OperationError, UsageError } from "../../src/errors";
import { importSupervisordConf } from "../../src/manifest/import";
import { manifestSchema } from "../../src/manifest/schema";
import { envFileLine, planSecrets, secretReason } from "../../src/manifest/secrets";
import { validateManifest } from "../../src/manifest/validate";

const DIR = join(__dirname, "..", "fixtures", "recio");
const conf = readFileSync(join(DIR, "supervisord.conf"), "utf8");
const legacy = JSON.parse(readFileSync(join(DIR, "MASTER_PORT_MANIFEST.json"), "utf8"));
const environ = { HOME: "/home/op" };
const imp = (text: string, extra: Partial<Parameters<typeof importSupervisordConf>[1]> = {}) =>
  importSupervisordConf(text, { fileName: "/etc/sv/sv.conf", environ, hostNodeName: "box", ...extra });

describe("the REC.IO fixture with its legacy manifest", () => {
  const { manifest, notes, files } = imp(conf, { legacyPorts: legacy });

  test("validates (schema and every policy rule) with all 12 programs", () => {
    expect(manifestSchema.safeParse(manifest).success).toBe(true);
    expect(validateManifest(manifest).errors).toEqual([]);
    expect(Object.keys(manifest.services)).toHaveLength(12);
  });

  test("ports, groups and descriptions from the legacy manifest; the rest are workers", () => {
    expect(manifest.services.trade_executor).toMatchObject({
      group: "core",
      port: 8001,
      description: "Trade execution service",
      technology: "python",
    });
    expect(manifest.services.strike_table_generator).toMatchObject({ group: "watchdog", port: 8011 });
    for (const worker of [
      "symbol_price_watchdog_btc",
      "symbol_price_watchdog_eth",
      "system_monitor",
      "cascading_failure_detector",
    ]) {
      expect(manifest.services[worker].port).toBeUndefined();
      expect(manifest.services[worker].group).toBeUndefined();
    }
  });

  test("argv and directory as written", () => {
    expect(manifest.services.strike_table_generator.command).toEqual([
      "/opt/rec_io_server/venv/bin/python",
      "/opt/rec_io_server/backend/strike_table_generator.py",
      "continuous",
      "1",
    ]);
    expect(manifest.services.main_app.directory).toBe("/opt/rec_io_server");
  });

  test("secrets move to secrets/NAME.env (0600); no secret value in the manifest or the notes", () => {
    expect(files).toHaveLength(12);
    for (const f of files) {
      expect(f.mode).toBe(0o600);
      expect(f.content).toMatch(/^DB_PASSWORD=rec_io_password$/m);
      expect(f.content).toMatch(/^REC_DB_PASS=rec_io_password$/m);
    }
    expect(manifest.services.main_app.envFile).toBe("secrets/main_app.env");
    expect(manifest.services.main_app.env).toMatchObject({ DB_USER: "rec_io_user", PYTHONGC: "1" });
    expect(JSON.stringify(manifest) + notes.join("\n")).not.toMatch(/rec_io_password/);
    expect(notes.join("\n")).toMatch(
      /secrets moved out of environment= into secrets\/NAME.env \(mode 0600, envFile.*\): DB_PASSWORD \(name contains PASSWORD\).* \(all 12 services\)/,
    );
  });

  test("other sections and ignored keys are reported; keys equal to what orchestrate generates are not", () => {
    const text = notes.join("\n");
    expect(text).toMatch(
      /\[supervisord\] nodaemon, logfile, pidfile, .* not imported: orchestrate runs its own supervisord/,
    );
    expect(text).toMatch(/\[unix_http_server\] not imported/);
    expect(text).toMatch(/logs go to logs\/NAME.out.log and logs\/NAME.err.log.* \(all 12 services\)/);
    expect(text).not.toMatch(/stopasgroup|autostart/);
  });
});

describe("small configs", () => {
  const head = "[supervisord]\nnodaemon=true\n";
  test.each<
    [
      string,
      string,
      Partial<Parameters<typeof importSupervisordConf>[1]>,
      (r: ReturnType<typeof importSupervisordConf>) => void,
    ]
  >([
    [
      "port from --port N, --port=N and PORT=; group default",
      '[program:a]\ncommand=/bin/a --port 9001\n[program:b]\ncommand=/bin/b --port=9002\n[program:c]\ncommand=/bin/c\nenvironment=PORT="9003",HOST="0.0.0.0"\n',
      {},
      ({ manifest, notes }) => {
        expect([manifest.services.a.port, manifest.services.b.port, manifest.services.c.port]).toEqual([
          9001, 9002, 9003,
        ]);
        expect(manifest.groups?.default.range).toBe("9001-9003");
        expect(manifest.services.c.env).toBeUndefined();
        expect(notes.join("\n")).toMatch(
          /environment HOST= is set by orchestrate itself \(the manifest's host\): HOST="0.0.0.0" dropped \(c\)/,
        );
      },
    ],
    [
      "--port wins over the legacy port, with a warning",
      "[program:main_app]\ncommand=/bin/a --port 3001\n",
      { legacyPorts: { core_services: { main_app: { port: 3000 } } } },
      ({ manifest, notes }) => {
        expect(manifest.services.main_app.port).toBe(3001);
        expect(notes.join("\n")).toMatch(
          /WARNING main_app: the command says port 3001 but MASTER_PORT_MANIFEST.json says 3000; kept 3001/,
        );
      },
    ],
    [
      "a legacy service without a program is kept disabled",
      "[program:x]\ncommand=/bin/x\n",
      { legacyPorts: { core_services: { web: 8001 } } },
      ({ manifest, notes }) => {
        expect(manifest.services.web).toMatchObject({ port: 8001, enabled: false, group: "core" });
        expect(notes.join("\n")).toMatch(
          /web is in MASTER_PORT_MANIFEST.json but has no \[program:web\]: kept disabled/,
        );
      },
    ],
    [
      "names are lower-cased with a note",
      "[program:WebApp]\ncommand=/bin/x\n",
      {},
      ({ manifest, notes }) => {
        expect(manifest.services.webapp).toBeDefined();
        expect(notes.join("\n")).toMatch(/program names become valid service names: WebApp → webapp \(webapp\)/);
      },
    ],
    [
      "stopsignal, stopwaitsecs, startsecs, startretries, user are mapped",
      "[program:a]\ncommand=/bin/a\nstopsignal=SIGINT\nstopwaitsecs=30\nstartsecs=%(ENV_N)s\nstartretries=5\nuser=svc\npriority=5\n",
      { environ: { N: "4" } },
      ({ manifest, notes }) => {
        expect(manifest.services.a).toMatchObject({
          stopSignal: "INT",
          stopTimeout: 30,
          startSecs: 4,
          startRetries: 5,
          user: "svc",
          priority: 5,
        });
        expect(notes.join("\n")).toMatch(
          /frozen at import:\n  - startsecs= uses %\(ENV_N\)s: imported with the value it has now \(a\)/,
        );
      },
    ],
    [
      "%(here)s, %(program_name)s and [supervisord] environment= are applied",
      '[supervisord]\nenvironment=G="1"\n[program:a]\ncommand=%(here)s/bin/%(program_name)s %(ENV_G)s\ndirectory=%(here)s\n',
      {},
      ({ manifest, notes }) => {
        expect(manifest.services.a).toMatchObject({
          command: ["/etc/sv/bin/a", "1"],
          directory: "/etc/sv",
          env: { G: "1" },
        });
        expect(notes.join("\n")).not.toMatch(/no directory=/);
      },
    ],
    [
      "group and eventlistener sections are reported; an [include] without match is a warning",
      "[include]\nfiles=conf.d/*.conf\n[group:g]\nprograms=a\n[eventlistener:e]\ncommand=/bin/e\nevents=PROCESS_STATE\n[program:a]\ncommand=/bin/a\n",
      {},
      ({ manifest, notes }) => {
        const text = notes.join("\n");
        expect(text).toMatch(/WARNING \[include\] files=: no file matches \/etc\/sv\/conf.d\/\*.conf/);
        expect(text).toMatch(/changed on import:\n(  - .*\n)*  - \[group:g\] becomes processGroups\.g: .* \(a\)/);
        expect(manifest.processGroups).toEqual({ g: ["a"] });
        expect(manifest.services.a.description).toBeUndefined();
        expect(text).toMatch(
          /WARNING \[eventlistener:e\] \(\/etc\/sv\/sv.conf\) not imported: orchestrate has no event listeners/,
        );
      },
    ],
    [
      "a literal {port} in a command is flagged",
      "[program:a]\ncommand=/bin/echo {port}\n",
      {},
      ({ notes }) => {
        expect(notes.join("\n")).toMatch(
          /WARNING a: its command contains \{port\}, \{instance\}, \{host\} or \{name\} literally/,
        );
      },
    ],
    [
      "secrets go to the chosen folder",
      '[program:a]\ncommand=/bin/a\nenvironment=API_KEY="k$1",KEYBOARD="us"\n',
      { secretsDir: "private/" },
      ({ manifest, files }) => {
        expect(manifest.services.a).toMatchObject({ env: { KEYBOARD: "us" }, envFile: "private/a.env" });
        expect(files[0].content).toMatch(/^API_KEY="k\\\$1"$/m);
      },
    ],
  ])("%s", (_name, text, options, check) => {
    const result = imp(head + text, options);
    expect(manifestSchema.safeParse(result.manifest).success).toBe(true);
    check(result);
  });

  test.each<[string, string, RegExp]>([
    [
      "numprocs > 1 without %(process_num) in process_name",
      "[program:a]\ncommand=/bin/a\nnumprocs=2\n",
      /\/etc\/sv\/sv.conf:3: \[program:a\] process_name="%\(program_name\)s": supervisord refuses numprocs > 1 without %\(process_num\)/,
    ],
    [
      "an unknown stopsignal",
      "[program:a]\ncommand=/bin/a\nstopsignal=WINCHY\n",
      /sv.conf:5: \[program:a\] stopsignal="WINCHY": supervisord refuses it: not a signal name or number/,
    ],
    [
      "a bad integer",
      "[program:a]\ncommand=/bin/a\nstartretries=lots\n",
      /sv.conf:5: \[program:a\] startretries="lots": supervisord refuses it: not an integer/,
    ],
    [
      "a bad boolean",
      "[program:a]\ncommand=/bin/a\nautostart=maybe\n",
      /sv.conf:5: \[program:a\] autostart="maybe": supervisord refuses it: not a valid boolean value/,
    ],
    [
      "a bad autorestart",
      "[program:a]\ncommand=/bin/a\nautorestart=sometimes\n",
      /sv.conf:5: \[program:a\] autorestart="sometimes": supervisord refuses it/,
    ],
    [
      "bad exit codes",
      "[program:a]\ncommand=/bin/a\nexitcodes=0,256\n",
      /sv.conf:5: \[program:a\] exitcodes="0,256": supervisord refuses it: not a list of exit codes/,
    ],
    [
      "stopasgroup=true with killasgroup=false",
      "[program:a]\ncommand=/bin/a\nstopasgroup=true\nkillasgroup=false\n",
      /sv.conf:6: \[program:a\] killasgroup="false": supervisord refuses stopasgroup=true with killasgroup=false/,
    ],
    [
      "a group member that does not exist",
      "[group:g]\nprograms=a,b\n[program:a]\ncommand=/bin/a\n",
      /sv.conf:4: \[group:g\] programs="b": supervisord refuses it: \[group:g\] names unknown program b/,
    ],
    [
      "an eventlistener without events",
      "[eventlistener:e]\ncommand=/bin/e\n[program:a]\ncommand=/bin/a\n",
      /sv.conf:3: \[eventlistener:e\] has no events=/,
    ],
    [
      "an eventlistener with redirect_stderr",
      "[eventlistener:e]\ncommand=/bin/e\nevents=TICK_5\nredirect_stderr=true\n[program:a]\ncommand=/bin/a\n",
      /sv.conf:6: \[eventlistener:e\] redirect_stderr="true": supervisord refuses redirect_stderr=true in an eventlistener/,
    ],
    [
      "an unknown event type",
      "[eventlistener:e]\ncommand=/bin/e\nevents=TICK_7\n[program:a]\ncommand=/bin/a\n",
      /sv.conf:5: \[eventlistener:e\] events="TICK_7": supervisord refuses it: unknown event type/,
    ],
    [
      "an fcgi-program without socket",
      "[fcgi-program:f]\ncommand=/bin/f\n[program:a]\ncommand=/bin/a\n",
      /sv.conf:3: \[fcgi-program:f\] has no socket=/,
    ],
    ["an [include] without files", "[include]\n[program:a]\ncommand=/bin/a\n", /sv.conf:3: \[include\] has no files=/],
    [
      "an unset %(ENV_X)s, naming the variable",
      "[program:a]\ncommand=/bin/a --token=%(ENV_API_TOKEN)s\n",
      /sv.conf:4: \[program:a\] command=.*: environment variable API_TOKEN is not set .*; set it \(export API_TOKEN=…\) before importing/,
    ],
    ["a file without [supervisord]", "", /no \[supervisord\] section \(supervisord refuses the file/],
    [
      "a lone % in the command",
      "[program:a]\ncommand=/bin/a 100%\n",
      /sv.conf:4: \[program:a\] command="\/bin\/a 100%": .*badly formatted/,
    ],
    [
      "two programs with one service name",
      "[program:A]\ncommand=/bin/a\n[program:a]\ncommand=/bin/a\n",
      /becomes service a, which another program already is/,
    ],
    ["a program named all", "[program:all]\ncommand=/bin/a\n", /cannot be named "all"/],
    [
      "an env name the manifest cannot hold",
      '[program:a]\ncommand=/bin/a\nenvironment="A"=1\n',
      /"\\"A\\"" is not a valid environment variable name/,
    ],
    ["a missing command", "[program:a]\ndirectory=/tmp\n", /sv.conf:3: \[program:a\] has no command=/],
  ])("refuses %s, naming file, line, section, key and value", (name, text, message) => {
    const full = name === "a file without [supervisord]" ? "[program:a]\ncommand=/bin/a\n" : head + text;
    expect(() => imp(full)).toThrowError(message);
    expect(() => imp(full)).toThrowError(UsageError);
  });

  test("every problem of a file in one run (exit 2)", () => {
    const text =
      "[program:a]\ncommand=/bin/a\nautostart=maybe\n[program:b]\ncommand=/bin/b %(ENV_NOPE)s\nstartsecs=x\n";
    let error: unknown;
    try {
      imp(head + text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toMatch(/\(3 problems\)/);
    expect((error as UsageError).message).toMatch(/autostart="maybe"[\s\S]*startsecs="x"[\s\S]*NOPE is not set/);
  });

  test("no program: exit 1, saying so", () => {
    expect(() => imp(head + "[unix_http_server]\nfile=/tmp/s.sock\n")).toThrowError(
      /no program found: \/etc\/sv\/sv.conf defines no \[program:x\] section/,
    );
    try {
      imp(head);
    } catch (e) {
      expect((e as OperationError).exitCode).toBe(1);
    }
  });
});

describe("secrets", () => {
  test.each<[string, string, string | undefined]>([
    ["DB_PASSWORD", "x", "name contains PASSWORD"],
    ["REC_DB_PASS", "x", "name contains PASS"],
    ["API_KEY", "x", "name contains KEY"],
    ["githubToken", "x", "name contains TOKEN"],
    ["DBPASSWORD", "x", "name contains DBPASSWORD"],
    ["SENTRY_DSN", "x", "name contains DSN"],
    ["DATABASE_URL", "postgres://u:p@h/db", "value is a URL with a password"],
    ["KEYBOARD_LAYOUT", "us", undefined],
    ["PASSTHROUGH", "1", undefined],
    ["BYPASS_CACHE", "1", undefined],
    ["TOKENIZER_PATH", "/m", undefined],
    ["PWD", "/srv", undefined],
    ["HOME_URL", "http://h/p", undefined],
  ])("%s=%s → %s", (name, value, reason) => {
    expect(secretReason(name, value)).toBe(reason);
  });

  test.each([
    ["plain", "KEY=plain"],
    ["a b", 'KEY="a b"'],
    ['q"$`\\', 'KEY="q\\"\\$\\`\\\\"'],
    ["", 'KEY=""'],
    ["x:y@z/%+,=.-_", "KEY=x:y@z/%+,=.-_"],
  ])("envFileLine(%j)", (value, line) => {
    expect(envFileLine("KEY", value)).toBe(line);
  });

  test("planSecrets keeps order, plans one 0600 file, and moves nothing when nothing is secret", () => {
    const plan = planSecrets(
      "web",
      new Map([
        ["A", "1"],
        ["TOKEN", "t"],
        ["B", "2"],
      ]),
      "secrets",
      "sv.conf",
    );
    expect(plan.env).toEqual({ A: "1", B: "2" });
    expect(plan.file).toMatchObject({ path: "secrets/web.env", mode: 0o600 });
    expect(plan.file?.content.split("\n").slice(2)).toEqual(["TOKEN=t", ""]);
    expect(planSecrets("web", new Map([["A", "1"]]), "secrets", "sv.conf").file).toBeUndefined();
  });
});
