/**
 * The journal: every change appends one JSON line to run/journal.jsonl — time, command, what changed
 * ("port 8014 → 8021") and the outcome. It replaces the "conflict resolution history" teams kept by hand.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProjectPaths } from "../model/types";
import { appendLine } from "../write/atomic";

/** One line of run/journal.jsonl. */
export interface JournalEntry {
  /** ISO 8601 time */
  time: string;
  /** e.g. "add-service quotes" */
  command: string;
  /** human-readable changes, e.g. ["port 8014 → 8021"] */
  changes: string[];
  /**
   * "begun" is written before a change's first write (with `id`); its final entry repeats the id. A begun
   * entry without a final one reads as "interrupted" (the command was killed, e.g. SIGKILL): see {@link readJournal}.
   */
  outcome: "applied" | "rolled back" | "failed" | "begun" | "interrupted";
  /** links a change's "begun" entry to its final one */
  id?: string;
  /** why it failed or was rolled back */
  reason?: string;
  /** $USER (else $LOGNAME) of whoever ran the command. */
  user?: string;
}

/** Absolute path of run/journal.jsonl. */
export function journalPath(paths: Pick<ProjectPaths, "run">): string {
  return join(paths.run, "journal.jsonl");
}

/** Appends an entry (time and user filled in). */
export function recordChange(
  paths: Pick<ProjectPaths, "run">,
  entry: Omit<JournalEntry, "time" | "user">,
): JournalEntry {
  const full: JournalEntry = {
    time: new Date().toISOString(),
    user: process.env.USER ?? process.env.LOGNAME,
    ...entry,
  };
  appendLine(journalPath(paths), JSON.stringify(full));
  return full;
}

/**
 * Every entry, oldest first; a line torn by a crash is skipped. A "begun" entry whose change later recorded
 * its outcome (same `id`) is left out; one that never did is returned as "interrupted".
 */
export function readJournal(paths: Pick<ProjectPaths, "run">): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(journalPath(paths), "utf8");
  } catch {
    return [];
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      /* a torn last line after a crash */
    }
  }
  const finished = new Set(entries.filter((e) => e.id && e.outcome !== "begun").map((e) => e.id));
  return entries
    .filter((e) => e.outcome !== "begun" || !finished.has(e.id))
    .map((e) =>
      e.outcome === "begun"
        ? {
            ...e,
            outcome: "interrupted" as const,
            reason:
              'no outcome recorded: the command was killed (or is still running); check manifest.json and run "orchestrate restart"',
          }
        : e,
    );
}
