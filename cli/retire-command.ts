import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { entityMessagesInProto, formatGenErrors, GenErrors, loadConfig, readLock, retire, retiredMessages, revisionsOf, serializeLock, today } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";

/**
 * `protocache retire <message>`: records in the lock that an entity was
 * removed on purpose, so `check` accepts its disappearance (its cached
 * entries are knowingly orphaned until they expire or are cleaned up). A
 * message still declared in proto/ is live and is never retired.
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
  // Retiring a message still declared would let its live key space be cleaned up as retired (cleanup --all).
  let declared: ReadonlySet<string>;
  try {
    declared = await entityMessagesInProto(root);
  } catch (error) {
    if (!(error instanceof GenErrors)) throw error;
    console.error(`protocache retire: ${config.protoDir}/ does not compile, so whether ${message} is still declared cannot be told; fix it first:\n${formatGenErrors(error.errors)}`);
    return ExitCode.usage;
  }
  if (declared.has(message)) {
    console.error(
      `protocache retire: ${message} is still declared in ${config.protoDir}/: it is live (services read and write its key space, and a retired major's entries may be deleted by cleanup --all). Remove the message from ${config.protoDir}/ first (for a previous major: once deprecatable says yes), then retire it.`,
    );
    return ExitCode.usage;
  }
  await writeFile(join(root, config.lockFile), serializeLock(retire(lock, message, today())));
  console.log(`retired ${message} in ${config.lockFile}; run ${config.commands.gen}`);
  return ExitCode.ok;
}
