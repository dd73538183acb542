import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig, readLock, retire, retiredMessages, revisionsOf, serializeLock, today } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";

/**
 * `protocache retire <message>`: records in the lock that an entity was
 * removed on purpose, so `check` accepts its disappearance (its cached
 * entries are knowingly orphaned until they expire or are cleaned up).
 */
export async function retireCommand(root: string, message: string): Promise<number> {
  const config = await loadConfig(root);
  const lock = await readLock(root, config.lockFile);
  if (!revisionsOf(lock).some((e) => e.message === message)) {
    console.error(`protocache retire: ${message} has no revision in ${config.lockFile}; nothing to retire`);
    return ExitCode.usage;
  }
  if (retiredMessages(lock).has(message)) {
    console.error(`protocache retire: ${message} is already retired`);
    return ExitCode.ok;
  }
  await writeFile(join(root, config.lockFile), serializeLock(retire(lock, message, today())));
  console.log(`retired ${message} in ${config.lockFile}; remove the message from ${config.protoDir}/ (if not done yet) and run ${config.commands.gen}`);
  return ExitCode.ok;
}
