/** Builds the systemd backend for a project (wired in when the systemd backend lands). */
import { OperationError } from "../../errors";
import type { Model } from "../../model/types";
import type { Backend } from "../types";

export function systemdBackendFor(model: Model): Backend {
  throw new OperationError(`the systemd backend is not available yet for ${model.project}`, "use --backend supervisor");
}
