/**
 * Process groups (manifest `processGroups`, issue 13): the validation rules as a table, the resolved groups
 * on the model, the names selectTargets expands (a group → every instance of its members, manifest order),
 * and `[group:x]` of a supervisord import kept as processGroups.x.
 */
import { describe, expect, it } from "vitest";
import { ManifestError, UnknownServiceError, UsageError } from "../../src/errors";
import { projectFromSource } from "../../src/manifest";
import { importSupervisordConf } from "../../src/manifest/import";
import { resolveModel } from "../../src/manifest/resolve";
import { validateManifest } from "../../src/manifest/validate";
import { selectTargets } from "../../src/model/lookup";
import { planRemoveService } from "../../src/change/remove-service";

type Json = Record<string, any>;

function base(): Json {
  return {
    project: "demo",
    services: {
      api: { port: 8001, command: "/usr/bin/node api.js" },
      web: { port: 8002, command: "/usr/bin/node web.js", instances: 2 },
      worker: { command: "/usr/bin/node job.js", instances: 3 },
      mailer: { command: "/usr/bin/node mail.js" },
    },
    processGroups: { front: ["web", "api"], jobs: ["worker", "mailer"] },
  };
}

type Row = [string, (m: Json) => void, { path: string; value: unknown; message: RegExp; fix?: RegExp } | null];

const rows: Row[] = [
  ["valid groups", () => {}, null],
  ["a service in two groups", (m) => (m.processGroups.all_node = ["api", "worker"]), null],
  [
    "a group name that is also a service name",
    (m) => (m.processGroups.api = ["web"]),
    {
      path: "processGroups.api",
      value: "api",
      message: /"api" is both a process group and a service/,
      fix: /rename the process group \(e\.g\. "api_group"\) or the service api/,
    },
  ],
  [
    "an unknown member, the closest service suggested",
    (m) => (m.processGroups.jobs = ["worker", "mailer", "workr"]),
    {
      path: "processGroups.jobs[2]",
      value: "workr",
      message: /process group jobs names "workr", which is not a service/,
      fix: /did you mean "worker"\?/,
    },
  ],
  [
    "an unknown member, nothing close",
    (m) => (m.processGroups.jobs = ["zzzzzzzz"]),
    { path: "processGroups.jobs[0]", value: "zzzzzzzz", message: /not a service/, fix: /known services: api, web/ },
  ],
  [
    "an empty group",
    (m) => (m.processGroups.jobs = []),
    { path: "processGroups.jobs", value: [], message: /process group jobs is empty/, fix: /list its services/ },
  ],
  [
    "a member listed twice",
    (m) => (m.processGroups.front = ["web", "api", "web"]),
    { path: "processGroups.front[2]", value: "web", message: /lists web twice/ },
  ],
  [
    "a group name outside the service name rule",
    (m) => (m.processGroups["Front End"] = ["web"]),
    {
      path: "processGroups.Front End",
      value: "Front End",
      message: /process group name "Front End" does not match/,
      fix: /rename it to "front_end"/,
    },
  ],
  [
    'the group name "all"',
    (m) => (m.processGroups.all = ["web"]),
    { path: "processGroups.all", value: "all", message: /"all" cannot be a process group name/ },
  ],
  [
    "a member that is not a string",
    (m) => (m.processGroups.front = ["web", 7]),
    { path: "processGroups.front.1", value: 7, message: /7 is not valid/ },
  ],
  [
    "processGroups that is not an object",
    (m) => (m.processGroups = ["web"]),
    {
      path: "processGroups",
      value: ["web"],
      message: /expected record/,
      fix: /"processGroups": \{ "front": \["api", "web"\] \}/,
    },
  ],
  [
    "__proto__ as a group name",
    (m) => (m.processGroups = JSON.parse('{"__proto__": ["web"]}')),
    { path: "processGroups.__proto__", value: "__proto__", message: /cannot be a process group name/ },
  ],
];

describe("processGroups rules", () => {
  it.each(rows)("%s", (_name, mutate, expected) => {
    const m = base();
    mutate(m);
    const v = validateManifest(m);
    if (!expected) {
      expect(v.errors).toEqual([]);
      return;
    }
    expect(v.errors).toHaveLength(1);
    const [e] = v.errors;
    expect(e.path).toBe(expected.path);
    expect(e.value).toEqual(expected.value);
    expect(e.message).toMatch(expected.message);
    if (expected.fix) expect(e.fix).toMatch(expected.fix);
  });

  it("every problem in one run, and loading refuses the manifest with exit 2", () => {
    const m = base();
    m.processGroups = { api: ["nope"], jobs: [] };
    const v = validateManifest(m);
    expect(v.errors.map((e) => e.path)).toEqual(["processGroups.api", "processGroups.api[0]", "processGroups.jobs"]);
    let thrown: unknown;
    try {
      projectFromSource({ path: "/srv/demo/manifest.json", text: JSON.stringify(m), raw: m });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ManifestError);
    expect((thrown as ManifestError).exitCode).toBe(2);
  });
});

describe("processGroups on the model", () => {
  const model = () => resolveModel(validateManifest(base()).manifest!, "/srv/demo/manifest.json");

  it("resolves each group's members in manifest order", () => {
    expect(model().processGroups).toEqual([
      { name: "front", services: ["api", "web"] },
      { name: "jobs", services: ["worker", "mailer"] },
    ]);
  });

  it("a group name is every instance of its members, in manifest order (supervisorctl start NAME:*)", () => {
    const labels = (names: string[]) => selectTargets(model(), names).map((t) => t.instance.label);
    expect(labels(["front"])).toEqual(["api", "web:0", "web:1"]);
    expect(labels(["jobs"])).toEqual(["worker:0", "worker:1", "worker:2", "mailer"]);
    // names mix with services and instances; an instance named twice is selected once
    expect(labels(["web:1", "front", "mailer"])).toEqual(["web:1", "api", "web:0", "mailer"]);
  });

  it("a disabled member is left out; a group of disabled services returns them (the command refuses them)", () => {
    const m = base();
    m.services.api.enabled = false;
    m.processGroups.off = ["api"];
    const md = resolveModel(validateManifest(m).manifest!, "/srv/demo/manifest.json");
    expect(selectTargets(md, ["front"]).map((t) => t.instance.label)).toEqual(["web:0", "web:1"]);
    expect(selectTargets(md, ["off"]).map((t) => t.service.name)).toEqual(["api"]);
  });

  it("an unknown name suggests groups too; GROUP:I is refused", () => {
    let e: unknown;
    try {
      selectTargets(model(), ["frnt"]);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UnknownServiceError);
    expect((e as UnknownServiceError).message).toBe('unknown service "frnt"; did you mean "front"?');
    expect((e as UnknownServiceError).hint).toMatch(
      /known services: api, web, worker, mailer; process groups: front, jobs/,
    );
    expect(() => selectTargets(model(), ["front:0"])).toThrow(UsageError);
    expect(() => selectTargets(model(), ["front:0"])).toThrow(/front is a process group/);
  });
});

describe("import: [group:x] becomes processGroups.x", () => {
  const imp = (text: string) =>
    importSupervisordConf("[supervisord]\nnodaemon=true\n" + text, {
      fileName: "/etc/sv/sv.conf",
      environ: {},
      hostNodeName: "box",
    });

  it("maps program names to the service names chosen, in manifest order, and reports it", () => {
    const r = imp(
      "[group:Web]\nprograms=Front-End,api\npriority=5\n[program:api]\ncommand=/bin/api\n[program:Front-End]\ncommand=/bin/fe\n[program:other]\ncommand=/bin/o\n",
    );
    expect(r.manifest.processGroups).toEqual({ web: ["api", "front-end"] });
    const changed = r.report!.find((i) => i.what.startsWith("[group:Web] becomes processGroups.web"))!;
    expect(changed).toMatchObject({ kind: "changed", services: ["api", "front-end"], fields: ["group"] });
    expect(changed.what).toMatch(/renamed: Web is not a valid name/);
    expect(r.report).toContainEqual(
      expect.objectContaining({ kind: "not carried", what: expect.stringMatching(/^\[group:Web\] priority=5 /) }),
    );
    expect(validateManifest(r.manifest).errors).toEqual([]);
  });

  it("a group named like a service is renamed; one holding only that service is dropped", () => {
    const r = imp(
      "[group:api]\nprograms=api,worker\n[group:worker]\nprograms=worker\n[program:api]\ncommand=/bin/api\n[program:worker]\ncommand=/bin/w\n",
    );
    expect(r.manifest.processGroups).toEqual({ api_group: ["api", "worker"] });
    expect(r.notes.join("\n")).toMatch(/\[group:worker\] holds only worker: no process group is kept/);
    expect(validateManifest(r.manifest).errors).toEqual([]);
  });

  it("a group whose members are only fcgi-programs is not carried", () => {
    const r = imp(
      "[group:f]\nprograms=php\n[fcgi-program:php]\ncommand=/bin/php\nsocket=unix:///tmp/php.sock\n[program:a]\ncommand=/bin/a\n",
    );
    expect(r.manifest.processGroups).toBeUndefined();
    expect(r.notes.join("\n")).toMatch(
      /not carried:\n(  - .*\n)*  - \[group:f\]: none of its programs \(php\) became a service/,
    );
  });
});

describe("remove-service and process groups", () => {
  it("the removed service leaves every group; a group left empty is removed", async () => {
    const m = base();
    m.processGroups.solo = ["mailer"];
    const before = projectFromSource({ path: "/srv/demo/manifest.json", text: JSON.stringify(m, null, 2), raw: m });
    const plan = await planRemoveService(before, { label: "fake" }, { name: "mailer" });
    expect(plan.after.manifest.processGroups).toEqual({ front: ["web", "api"], jobs: ["worker"] });
    expect(plan.changes).toEqual(
      expect.arrayContaining([
        "process group jobs no longer lists mailer",
        "process group solo removed (it held only mailer)",
      ]),
    );
  });
});
