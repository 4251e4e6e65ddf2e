/** manifest.schema.json, generated from the zod schema (z.toJSONSchema) for editor completion. */
import { z } from "zod";
import { manifestSchema } from "./schema";

/** The JSON Schema text of manifest v1.1, exactly as committed in manifest.schema.json. */
export function manifestJsonSchema(): string {
  const schema = z.toJSONSchema(manifestSchema, { target: "draft-2020-12", io: "input" }) as Record<string, unknown>;
  return (
    JSON.stringify(
      { $id: "https://orchestrate.invalid/manifest.schema.json", title: "orchestrate manifest v1.1", ...schema },
      null,
      2,
    ) + "\n"
  );
}
