import { readFile, rename, writeFile } from "node:fs/promises";
import { ConfigError } from "../errors.js";

/** Where one server's walk stands. */
export interface NodeCursor {
  readonly cursor: string;
  /** Run ID of the server the cursor belongs to: after a restart the walk starts over. */
  readonly runId: string;
  readonly done: boolean;
}

/** What a checkpoint file holds: enough to resume an operation where it stopped. */
export interface CheckpointState<S> {
  readonly protocacheCheckpoint: 1;
  readonly operation: string;
  /** SCAN pattern of the walk: a checkpoint of another walk is refused. */
  readonly match: string;
  readonly nodes: Readonly<Record<string, NodeCursor>>;
  /** Counters so far, so the final stats cover every run. */
  readonly stats: S;
  readonly savedAt: string;
}

/** Reads a checkpoint, or undefined when the file does not exist; refuses one written for another walk. */
export async function loadCheckpoint<S>(file: string, operation: string, match: string): Promise<CheckpointState<S> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let state: CheckpointState<S>;
  try {
    state = JSON.parse(text) as CheckpointState<S>;
  } catch {
    throw new ConfigError("checkpoint", `${file} is not a protocache checkpoint (not JSON)`);
  }
  if (state.protocacheCheckpoint !== 1 || typeof state.nodes !== "object" || state.nodes === null) {
    throw new ConfigError("checkpoint", `${file} is not a protocache checkpoint`);
  }
  if (state.operation !== operation || state.match !== match) {
    throw new ConfigError("checkpoint", `${file} belongs to ${state.operation} of ${state.match}, not ${operation} of ${match}: use another file`);
  }
  return state;
}

/** Writes a checkpoint atomically (a reader sees the old file or the new one). */
export async function saveCheckpoint<S>(file: string, state: CheckpointState<S>): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 1)}\n`);
  await rename(temp, file);
}
