// Regenerates manifest.schema.json from the zod schema (run by `npm run schema`).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const { manifestJsonSchema } = require("../dist/index.cjs");
writeFileSync(new URL("../manifest.schema.json", import.meta.url), manifestJsonSchema());
console.log("wrote manifest.schema.json");
