/**
 * The supervisord import's v1.1 mapping (issue 13): numprocs → instances, [include] as supervisord
 * follows it, %(ENV_X)s kept as a start-time value (or frozen), multi-line commands, port detection,
 * one-shot programs and every program key with supervisord's default. Field-by-field fidelity against
 * supervisor's own parser on real files is test/e2e/import-real.test.ts.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { findPort, importSupervisordConf } from "../../src/manifest/import";
import type { FileSource } from "../../src/manifest/import/files";

const head = "[supervisord]\nnodaemon=true\n";
const imp = (text: string, extra: Partial<Parameters<typeof importSupervisordConf>[1]> = {}) =>
  importSupervisordConf(head + text, {
    fileName: "/etc/sv/sv.conf",
    environ: { HOME: "/home/op" },
    hostNodeName: "box",
    ...extra,
  });
const notes = (r: ReturnType<typeof imp>) => r.notes.join("\n");

/** An in-memory tree for [include]. */
function tree(files: Record<string, string>): FileSource {
  return {
    read: (p) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p];
    },
    list: (dir) => [
      ...new Set(
        Object.keys(files)
          .filter((f) => f.startsWith(dir.replace(/\/$/, "") + "/"))
          .map((f) => f.slice(dir.replace(/\/$/, "").length + 1).split("/")[0]),
      ),
    ],
  };
}

describe("numprocs", () => {
  test("becomes instances; %(process_num)d becomes {instance}; the port in the command becomes {port} with its base", () => {
    const r = imp(
      '[program:api]\ncommand=/srv/venv/bin/uvicorn app:app --port 80%(process_num)d --log-config /srv/log%(process_num)d.ini\nprocess_name=%(program_name)s_%(process_num)d\nnumprocs=3\nenvironment=SHARD="%(process_num)d"\n',
    );
    expect(r.manifest.services.api).toMatchObject({
      port: 800,
      instances: 3,
      command: ["/srv/venv/bin/uvicorn", "app:app", "--port", "{port}", "--log-config", "/srv/log{instance}.ini"],
      env: { SHARD: "{instance}" },
      restart: "on-failure",
      startSecs: 1,
    });
    expect(r.processes).toEqual(
      [0, 1, 2].map((i) => ({ group: "api", process: `api_${i}`, service: "api", instance: i })),
    );
    expect(notes(r)).toMatch(/process names become NAME@I \(instance I counts from 0\) \(api\)/);
  });

  test("a zero-padded %(process_num)02d and numprocs_start are said, not hidden", () => {
    const padded = imp(
      "[program:w]\ncommand=/bin/w --name w%(process_num)02d\nprocess_name=w%(process_num)02d\nnumprocs=2\n",
    );
    expect(padded.manifest.services.w.command).toEqual(["/bin/w", "--name", "w{instance}"]);
    expect(notes(padded)).toMatch(/%\(process_num\) was formatted with a width .*\{instance\} is not padded \(w\)/);
    const start = imp(
      "[program:w]\ncommand=/bin/w --n %(process_num)d\nprocess_name=w%(process_num)d\nnumprocs=2\nnumprocs_start=1\n",
    );
    expect(notes(start)).toMatch(/numprocs_start=1: \{instance\} counts from 0 \(w\)/);
  });

  test("%(ENV_X)s in numprocs is frozen, and said", () => {
    const r = imp("[program:w]\ncommand=/bin/w\nprocess_name=w%(process_num)d\nnumprocs=%(ENV_N)s\n", {
      environ: { N: "4" },
    });
    expect(r.manifest.services.w.instances).toBe(4);
    expect(notes(r)).toMatch(
      /frozen at import:\n  - numprocs= uses %\(ENV_N\)s: imported with the value it has now \(w\)/,
    );
  });
});

describe("[include]", () => {
  test("globs relative to the including file, sorted; %(here)s of an included file is its folder; no nested include", () => {
    const files = tree({
      "/etc/sv/sv.conf": head + "[include]\nfiles = conf.d/*.conf more/one.conf\n",
      "/etc/sv/conf.d/b.conf": "[program:b]\ncommand=%(here)s/bin/b\n",
      "/etc/sv/conf.d/a.conf": "[program:a]\ncommand=/bin/a\n[include]\nfiles=../never/*.conf\n",
      "/etc/sv/conf.d/.hidden.conf": "[program:hidden]\ncommand=/bin/h\n",
      "/etc/sv/more/one.conf": "[program:one]\ncommand=/bin/one %(here)s\n",
      "/etc/sv/never/x.conf": "[program:never]\ncommand=/bin/n\n",
    });
    const r = importSupervisordConf(undefined, { fileName: "/etc/sv/sv.conf", environ: {}, files });
    expect(Object.keys(r.manifest.services)).toEqual(["a", "b", "one"]);
    expect(r.manifest.services.b.command).toEqual(["/etc/sv/conf.d/bin/b"]);
    expect(r.manifest.services.one.command).toEqual(["/bin/one", "/etc/sv/more"]);
    expect(r.sources).toEqual([
      "/etc/sv/sv.conf",
      "/etc/sv/conf.d/a.conf",
      "/etc/sv/conf.d/b.conf",
      "/etc/sv/more/one.conf",
    ]);
  });

  test("files= takes %(ENV_X)s; a pattern without match is a warning", () => {
    const files = tree({ "/etc/sv/sv.conf": head + "[include]\nfiles = %(ENV_EXTRA)s\n[program:a]\ncommand=/bin/a\n" });
    const r = importSupervisordConf(undefined, { fileName: "/etc/sv/sv.conf", environ: { EXTRA: "x/*.conf" }, files });
    expect(notes(r)).toMatch(/WARNING \[include\] files=: no file matches \/etc\/sv\/x\/\*\.conf/);
  });
});

describe("%(ENV_X)s in the command", () => {
  const text = '[program:w]\ncommand=/usr/sbin/postgrey --delay="%(ENV_DELAY)s" %(ENV_FLAGS)s --fixed x\n';
  const environ = { DELAY: "300", FLAGS: "--a --b" };

  test("stays a value read when the program starts (/bin/sh -c), which runs what supervisord ran", () => {
    const r = imp(text, { environ });
    const cmd = r.manifest.services.w.command as string[];
    expect(cmd.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(cmd[2]).toBe('exec /usr/sbin/postgrey --delay="${DELAY}" ${FLAGS} --fixed x');
    const run = spawnSync("/bin/sh", ["-c", cmd[2].replace(/^exec /, "printf '%s\\0' ")], {
      env: environ,
      encoding: "utf8",
    });
    expect(run.stdout.split("\0").slice(0, -1)).toEqual([
      "/usr/sbin/postgrey",
      "--delay=300",
      "--a",
      "--b",
      "--fixed",
      "x",
    ]);
    expect(notes(r)).toMatch(
      /the command runs through \/bin\/sh -c so that %\(ENV_DELAY\)s, %\(ENV_FLAGS\)s is read when the program starts/,
    );
  });

  test("--freeze-env writes today's value, and says so", () => {
    const r = imp(text, { environ, freezeEnv: true });
    expect(r.manifest.services.w.command).toEqual(["/usr/sbin/postgrey", "--delay=300", "--a", "--b", "--fixed", "x"]);
    expect(notes(r)).toMatch(/frozen at import:\n  - command= uses %\(ENV_DELAY\)s, %\(ENV_FLAGS\)s/);
  });

  test("a variable of [supervisord] environment= or the program's environment= is a constant of the file", () => {
    const r = imp('[program:w]\ncommand=/bin/w %(ENV_A)s\nenvironment=A="1"\n', { environ: { A: "os" } });
    expect(r.manifest.services.w.command).toEqual(["/bin/w", "1"]);
  });
});

test("a command continued on the next lines (configparser continuation, and \\ + newline inside bash -c)", () => {
  const r = imp(
    '[program:w]\ncommand=/bin/bash -c "cd /srv && \\\n    exec gunicorn app:app \\\n      --bind 127.0.0.1:8040"\n  --extra\n',
  );
  expect(r.manifest.services.w.command).toEqual([
    "/bin/bash",
    "-c",
    "cd /srv && \\\nexec gunicorn app:app \\\n--bind 127.0.0.1:{port}",
    "--extra",
  ]);
  expect(r.manifest.services.w.port).toBe(8040);
});

describe("keys with supervisord's defaults", () => {
  test("absent keys: autorestart unexpected → on-failure, startsecs 1; orchestrate's own defaults are not written", () => {
    const s = imp("[program:a]\ncommand=/bin/a\n").manifest.services.a;
    expect(s).toEqual({ command: ["/bin/a"], startSecs: 1, restart: "on-failure" });
  });

  test("autostart, autorestart, exitcodes, redirect_stderr, priority (kept for every program when one sets it)", () => {
    const r = imp(
      "[program:a]\ncommand=/bin/a\nautostart=false\nautorestart=true\nexitcodes=0,2\nredirect_stderr=true\npriority=5\n[program:b]\ncommand=/bin/b\nautorestart=false\nstartsecs=3\n",
    );
    expect(r.manifest.services.a).toMatchObject({
      autostart: false,
      exitCodes: [0, 2],
      stderr: "merge",
      priority: 5,
      startSecs: 1,
    });
    expect(r.manifest.services.a.restart).toBeUndefined();
    expect(r.manifest.services.b).toMatchObject({ restart: "never", priority: 999, startSecs: 3 });
  });

  test("startsecs=0 with autorestart=false and no port: a oneshot", () => {
    const r = imp("[program:setup]\ncommand=/bin/setup.sh\nstartsecs=0\nautorestart=false\n");
    expect(r.manifest.services.setup).toMatchObject({ type: "oneshot", restart: "never", startSecs: 0 });
    expect(notes(r)).toMatch(/imported as type "oneshot"/);
  });

  test("umask, a stopsignal the manifest lacks, stopwaitsecs=0 and logs to /dev/stdout or syslog are said", () => {
    const r = imp(
      "[program:a]\ncommand=/bin/a\numask=022\nstopsignal=WINCH\nstopwaitsecs=0\nstdout_logfile=/dev/stdout\nstderr_syslog=true\n",
    );
    const text = notes(r);
    expect(text).toMatch(/not carried:[\s\S]*umask=022 .*\(a\)/);
    expect(text).toMatch(/stopsignal=WINCH \(the manifest's stopSignal is one of/);
    expect(text).toMatch(/stopwaitsecs=0 \(the manifest's stopTimeout is 1-86400 s/);
    expect(text).toMatch(/WARNING \[program:a\] stdout_logfile=\/dev\/stdout: supervisord wrote it to its own output/);
    expect(text).toMatch(/WARNING \[program:a\] stderr went to syslog/);
  });

  test("directory: [supervisord] directory= when supervisord daemonizes; else the manifest's folder, said", () => {
    const daemon = importSupervisordConf("[supervisord]\ndirectory=/srv/run\n[program:a]\ncommand=/bin/a\n", {
      fileName: "/etc/sv/sv.conf",
      environ: {},
    });
    expect(daemon.manifest.services.a.directory).toBe("/srv/run");
    expect(notes(imp("[program:a]\ncommand=/bin/a\n"))).toMatch(
      /no directory=: it runs in the manifest's folder .*\(a\)/,
    );
  });

  test("%(group_name)s is the [group:] name", () => {
    const r = imp("[group:web]\nprograms=a\n[program:a]\ncommand=/bin/a --group %(group_name)s\n");
    expect(r.manifest.services.a.command).toEqual(["/bin/a", "--group", "web"]);
  });
});

describe("port detection", () => {
  test.each<[string[], number | undefined]>([
    [["uvicorn", "app:app", "--port", "8001"], 8001],
    [["python", "app.py", "--port=8002"], 8002],
    [["gunicorn", "-b", "0.0.0.0:8003", "app:app"], 8003],
    [["gunicorn", "--bind=127.0.0.1:8004", "app:app"], 8004],
    [["daphne", "-b", "0.0.0.0", "-p", "8005", "app.asgi:application"], 8005],
    [["python", "manage.py", "runserver", "0.0.0.0:8006"], 8006],
    [["python", "manage.py", "runserver", "8007"], 8007],
    [["granian", "--interface", "asgi", "app:app", "--port", "8008"], 8008],
    [["redis-server", "--listen", "8009"], 8009],
    [["/usr/sbin/postgrey", "--inet=127.0.0.1:10023", "--delay=300"], 10023],
    [["/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8010"], 8010],
    [["/bin/sh", "-c", "cd /srv && exec gunicorn -b :8011 app:app"], 8011],
    [["/bin/bash", "-lc", "source venv/bin/activate; uvicorn main:app --port=8012"], 8012],
    [["php", "artisan", "serve", "--host=0.0.0.0", "--port=80"], 80],
    [["tail", "-f", "/var/log/syslog"], undefined],
    [["gunicorn", "-b", "unix:/run/g.sock", "app:app"], undefined],
    [["celery", "-A", "proj", "worker", "-P", "prefork"], undefined],
  ])("%j → %s", (argv, port) => {
    expect(findPort(argv)?.port).toBe(port);
  });

  test("PORT= in environment gives the port; a program without one is said to be a worker", () => {
    const r = imp('[program:a]\ncommand=/bin/a\nenvironment=PORT="8100"\n[program:b]\ncommand=/bin/b\n');
    expect(r.manifest.services.a.port).toBe(8100);
    expect(r.manifest.services.a.env).toBeUndefined();
    expect(notes(r)).toMatch(/no port found in the command or environment .*\(b\)/);
  });

  test("--ports: the legacy manifest's group is assigned", () => {
    const r = imp("[program:web]\ncommand=gunicorn -b 127.0.0.1:8001 app:app\n", {
      legacyPorts: { core_services: { web: { port: 8001 } } },
    });
    expect(r.manifest.services.web).toMatchObject({
      group: "core",
      port: 8001,
      command: ["gunicorn", "-b", "127.0.0.1:{port}", "app:app"],
    });
  });
});
