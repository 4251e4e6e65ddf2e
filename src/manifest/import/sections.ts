/**
 * Sections that are not `[program:x]`: what supervisord checks in `[eventlistener:x]` and
 * `[fcgi-program:x]` (supervisor options.py process_groups_from_parser: `events=` required and known,
 * no redirect_stderr for a listener, `socket=` required for fcgi, and every program rule), and the one
 * warning or note the import gives for each section it does not turn into a service.
 */
import type { PercentVars } from "../ini-reader";
import type { SourcedSection } from "./files";
import { readProgram, SectionReader } from "./program";

/** supervisor 4.2.5 events.py EventTypes names. */
const EVENT_TYPES = new Set(
  "EVENT PROCESS_STATE PROCESS_STATE_STOPPED PROCESS_STATE_EXITED PROCESS_STATE_STARTING PROCESS_STATE_STOPPING PROCESS_STATE_BACKOFF PROCESS_STATE_FATAL PROCESS_STATE_RUNNING PROCESS_STATE_UNKNOWN PROCESS_COMMUNICATION PROCESS_COMMUNICATION_STDOUT PROCESS_COMMUNICATION_STDERR PROCESS_LOG PROCESS_LOG_STDOUT PROCESS_LOG_STDERR REMOTE_COMMUNICATION SUPERVISOR_STATE_CHANGE SUPERVISOR_STATE_CHANGE_RUNNING SUPERVISOR_STATE_CHANGE_STOPPING TICK TICK_5 TICK_60 TICK_3600 PROCESS_GROUP PROCESS_GROUP_ADDED PROCESS_GROUP_REMOVED".split(
    " ",
  ),
);

/** Records in `problems` what supervisord would refuse in an eventlistener or fcgi-program section. */
export function checkListener(
  s: SourcedSection,
  kind: "eventlistener" | "fcgi-program",
  group: string | undefined,
  base: PercentVars,
  global: Map<string, string>,
  osEnv: Set<string>,
  problems: string[],
): void {
  const r = new SectionReader(s, problems, { ...base, program_name: s.name.slice(kind.length + 1) });
  if (kind === "eventlistener") {
    const events = (r.text("events") ?? "")
      .split(",")
      .map((e) => e.trim().toUpperCase())
      .filter((e) => e);
    if (events.length === 0)
      problems.push(
        `${s.file}:${s.line}: [${s.name}] has no events= (supervisord refuses it: "section requires an \\"events\\" line"); add events=PROCESS_STATE or remove the section`,
      );
    for (const e of events)
      if (!EVENT_TYPES.has(e))
        r.fail(
          "events",
          e,
          "supervisord refuses it: unknown event type",
          'use a type of supervisord docs "Event Types"',
        );
    if (r.boolean("redirect_stderr", false))
      r.fail(
        "redirect_stderr",
        r.raw("redirect_stderr") ?? "",
        "supervisord refuses redirect_stderr=true in an eventlistener",
        "remove it",
      );
  } else if (!r.text("socket"))
    problems.push(
      `${s.file}:${s.line}: [${s.name}] has no socket= (supervisord refuses it: "section requires a \\"socket\\" line")`,
    );
  readProgram(s, group, base, global, osEnv, true, problems);
}

/** The warning (eventlistener, fcgi-program) or note (everything else) for a section not imported. */
export function sectionWarning(s: SourcedSection, kind: string): string {
  switch (kind) {
    case "eventlistener":
      return `[${s.name}] (${s.file}) not imported: orchestrate has no event listeners. It ran ${JSON.stringify(s.entries.get("command")?.value ?? "")} on ${s.entries.get("events")?.value ?? ""}; orchestrate verify and restart report a program that stops, exits or is FATAL instead`;
    case "fcgi-program":
      return `[${s.name}] (${s.file}) not imported: supervisord opened ${s.entries.get("socket")?.value ?? "a socket"} and passed it to its processes as fd 0, which orchestrate does not do; run the server on a port of its own (e.g. uvicorn --port N) as a [program:x] and import that`;
    case "unix_http_server":
    case "inet_http_server":
    case "supervisorctl":
    case "rpcinterface":
      return `[${s.name}] not imported: orchestrate's private supervisord has its own socket under run/ and no inet server`;
    default:
      return `[${s.name}] not imported: not a section orchestrate knows`;
  }
}
