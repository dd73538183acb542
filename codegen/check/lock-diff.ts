import { formatSchemaId } from "../schema-id.js";
import { entryLine, lockEntryLine, type LockEntry, type SchemaLock } from "../lock.js";
import type { Finding } from "./finding.js";

const breaks = "readers decode entries by the revision their schema ID names: a changed or missing entry makes cached entries unreadable or misread";

function describe(e: LockEntry): string {
  return e.kind === "retired" ? `retirement of ${e.message}` : `${e.message} r${e.revision} (${formatSchemaId(e.id)})`;
}

/**
 * The lock is append-only: every entry of the base lock must still be there,
 * unchanged and in the same place, with new entries only after them.
 */
export function lockFindings(base: SchemaLock, current: SchemaLock, lockFile: string, genCommand: string): Finding[] {
  const fix = `restore ${lockFile} from the base branch, then run ${genCommand} (it only appends)`;
  const findings: Finding[] = [];
  const currentLines = current.entries.map(entryLine);
  base.entries.forEach((entry, i) => {
    const baseLine = entryLine(entry);
    if (currentLines[i] === baseLine) return;
    const at = { file: lockFile, line: lockEntryLine(i) };
    const movedTo = currentLines.indexOf(baseLine);
    const sameId = entry.kind === "revision" ? current.entries.find((c) => c.kind === "revision" && c.id === entry.id) : undefined;
    let message: string;
    if (movedTo >= 0) message = `entry ${describe(entry)} moved from line ${lockEntryLine(i)} to ${lockEntryLine(movedTo)}: entries were inserted before it`;
    else if (sameId !== undefined) message = `entry ${describe(entry)} was changed (now ${describe(sameId)}${sameId.kind === "revision" && entry.kind === "revision" && sameId.descriptor !== entry.descriptor ? ", descriptor differs" : ""})`;
    else message = `entry ${describe(entry)} was removed`;
    findings.push({ rule: "lock-append-only", location: at, message, breaks, fix });
  });
  return findings;
}
