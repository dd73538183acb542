import { ConfigError, invalidateTags } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { reportFailure } from "./context.js";

/** Options of `protocache invalidate-tags`. */
export interface InvalidateTagsCommandOptions extends ConnectionOptions {
  readonly tags: readonly string[];
  readonly prefix: string | undefined;
  readonly keepSeconds: number | undefined;
  readonly json: boolean;
}

/**
 * `protocache invalidate-tags <tags...>`: every entry carrying any of the
 * tags becomes a miss, in every service reading these servers under the
 * prefix (one write per tag; accessors holding the tags' states learn of it
 * from Redis's tracking). Exit 0 once written, 2 on bad tags or no Redis.
 */
export async function invalidateTagsCommand(o: InvalidateTagsCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    if (o.tags.length === 0) throw new ConfigError("tags", "name at least one tag");
    const connection = await connect(o);
    close = connection.close;
    await invalidateTags(connection.store, o.tags, { prefix: o.prefix ?? "", keepSeconds: o.keepSeconds ?? 0 });
    const at = new Date().toISOString();
    if (o.json) console.log(JSON.stringify({ ok: true, tags: o.tags, prefix: o.prefix ?? "", at }, null, 2));
    else console.log(`invalidated ${o.tags.length} tag${o.tags.length === 1 ? "" : "s"} (${o.tags.map((t) => JSON.stringify(t)).join(", ")}) under prefix ${JSON.stringify(o.prefix ?? "")} at ${at}`);
    return ExitCode.ok;
  } catch (error) {
    return reportFailure("invalidate-tags", error, o.json);
  } finally {
    close();
  }
}
