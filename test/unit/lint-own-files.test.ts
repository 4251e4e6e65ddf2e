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
const model = makeModel(root, [
  { name: "old", port: 8001, argv: ["/usr/bin/python3", "services/old.py"] },
  { name: "new", port: 8002, argv: ["/usr/bin/python3", "services/new.py"] },
  { name: "solo", port: 8003, argv: ["/usr/bin/python3", "solo/main.py"] },
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
});
