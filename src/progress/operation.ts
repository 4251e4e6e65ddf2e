/** What every procedure receives from its caller: which project, which process manager, where to report. */
import type { BackendChoice } from "../backend";
import type { Progress } from "./progress";

/** The target and the progress sink of one procedure run (the CLI builds it from the global options). */
export interface Operation {
  /** `--manifest PATH` as given; undefined: $ORCHESTRATE_MANIFEST, else ./manifest.json */
  manifest?: string;
  /** `--backend` and, for systemd, `--user` / `--root` */
  backend: BackendChoice;
  progress: Progress;
}
