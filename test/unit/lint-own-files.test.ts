/** add-service step 3 lints only the new service's own files when its folder is shared with other services. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scanServiceCode } from "../../src/lint/service";
import { makeModel } from "../helpers/model";

const root = mkdtempSync("/tmp/o-lint-own-");
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "services"));
mkdirSync(join(root, "solo"));
writeFileSync(join(root, "services", "old.py"), 'URL = "http://localhost:8001"\n');
writeFileSync(join(root, "services", "new.py"), "import os\nPORT = int(os.environ['PORT'])\n");
writeFileSync(join(root, "solo", "main.py"), "import os\n");
writeFileSync(join(root, "solo", "helper.py"), 'OTHER = "http://localhost:8001"\n');
mkdirSync(join(root, "apps", "legacy"), { recursive: true });
writeFileSync(join(root, "apps", "fresh.py"), "DEFAULT_PORT = 8124\n");
writeFileSync(join(root, "apps", "legacy", "main.py"), "import os\n");
writeFileSync(join(root, "apps", "legacy", "conf.py"), "PORT = 8123\n");
const model = makeModel(root, [
  { name: "old", port: 8001, argv: ["/usr/bin/python3", "services/old.py"] },
  { name: "new", port: 8002, argv: ["/usr/bin/python3", "services/new.py"] },
  { name: "solo", port: 8003, argv: ["/usr/bin/python3", "solo/main.py"] },
  { name: "fresh", port: 8004, argv: ["/usr/bin/python3", "apps/fresh.py"] },
  { name: "legacy", port: 8005, argv: ["/usr/bin/python3", "./apps/legacy/main.py"] },
]);

describe("scanServiceCode", () => {
  it("a shared folder: only the files the new service's command names (old.py's finding is not its)", async () => {
    expect(await scanServiceCode(model, model.services[1])).toEqual([]);
    const old = await scanServiceCode(model, model.services[0]);
    expect(old.map((f) => f.file)).toEqual(["services/old.py"]);
  });
  it("a folder of its own: the whole folder", async () => {
    const found = await scanServiceCode(model, model.services[2]);
    expect(found.map((f) => f.file)).toEqual(["solo/helper.py"]);
  });
  it("another service's source folder inside its own is left out (apps/legacy/ under apps/)", async () => {
    const fresh = await scanServiceCode(model, model.services[3]);
    expect(fresh.map((f) => f.file)).toEqual(["apps/fresh.py"]);
    const legacy = await scanServiceCode(model, model.services[4]);
    expect(legacy.map((f) => f.file)).toEqual(["apps/legacy/conf.py"]);
  });
});
