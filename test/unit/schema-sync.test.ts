/** The committed manifest.schema.json must equal what the zod schema generates ("npm run schema" rewrites it). */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { manifestJsonSchema } from "../../src/manifest/json-schema";

it("manifest.schema.json is up to date with src/manifest/schema.ts", () => {
  const committed = readFileSync(new URL("../../manifest.schema.json", import.meta.url), "utf8");
  expect(committed, 'manifest.schema.json is stale: run "npm run schema"').toBe(manifestJsonSchema());
});

it("manifest.json names the schema first", () => {
  const text = readFileSync(new URL("../../manifest.json", import.meta.url), "utf8");
  expect(Object.keys(JSON.parse(text))[0]).toBe("$schema");
  expect(JSON.parse(text).$schema).toBe("./manifest.schema.json");
});
