import { census, type CensusReport } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { bytes, hex, messageOf, projectSchemas, registryOf, reportFailure, type KeySpaceArgs } from "./context.js";
import { progressDisplay } from "./progress.js";

/** Options of `protocache census`. */
export interface CensusCommandOptions extends Omit<KeySpaceArgs, "entity">, ConnectionOptions {
  /** Entity names; every entity in proto/ when empty. */
  readonly entities: readonly string[];
  readonly sample: number | undefined;
  readonly count: number | undefined;
  readonly json: boolean;
  readonly progress: boolean;
}

/** `protocache census [entity…]`: entries per schema ID, revision and kind, with bytes, read header-only. */
export async function censusCommand(o: CensusCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    const schemas = await projectSchemas(o.root);
    const registry = registryOf(schemas.lock);
    const names = o.entities.length > 0 ? o.entities : [...new Set(schemas.entities.map((e) => e.entity))];
    const spaces = names.flatMap((entity) => {
      const majors = o.major !== undefined ? [o.major] : schemas.entities.filter((e) => e.entity === entity).map((e) => e.model.major);
      return (majors.length === 0 ? [undefined] : majors).map((major) => ({ entity, ...messageOf(schemas, { ...o, entity, major }) }));
    });
    const connection = await connect(o);
    close = connection.close;
    const reports: CensusReport[] = [];
    for (const space of spaces) {
      const display = o.progress ? progressDisplay(`census ${o.prefix ?? ""}${space.entity}:v${space.major}`) : undefined;
      reports.push(
        await census(
          {
            store: connection.store,
            entity: space.entity,
            major: space.major,
            registry,
            ...(space.message === undefined ? {} : { message: space.message }),
            ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
            ...(o.variant === undefined ? {} : { variant: o.variant }),
          },
          {
            ...(o.sample === undefined ? {} : { sample: o.sample }),
            ...(o.count === undefined ? {} : { count: o.count }),
            onProgress: (p) => display?.update(p, ""),
          },
        ),
      );
      display?.stop();
    }
    const dates = new Map(schemas.lock.map((r) => [r.id, r.firstGenerated]));
    if (o.json) {
      const withDates = reports.map((r) => ({ ...r, groups: r.groups.map((g) => ({ ...g, schemaId: g.schemaId === undefined ? undefined : hex(g.schemaId), firstGenerated: g.schemaId === undefined ? undefined : dates.get(g.schemaId) })) }));
      console.log(JSON.stringify({ ok: true, census: withDates }, null, 2));
    } else for (const r of reports) printCensus(r, dates);
    return ExitCode.ok;
  } catch (error) {
    return reportFailure("census", error, o.json);
  } finally {
    close();
  }
}

const kindNames: Record<string, string> = { envelope: "", newer: "newer envelope version", corrupt: "corrupt header", legacy: "legacy (not an envelope)", "other-type": "not a string", gone: "gone meanwhile" };

function printCensus(r: CensusReport, dates: ReadonlyMap<number, string>): void {
  const total = r.groups.reduce((n, g) => n + g.count, 0);
  console.log(`${r.namespace}*  ${total} entries, ${bytes(r.bytes)}${r.sampled ? ` (a sample of ~${Math.round(r.fraction * 100)}% of the key space; ≈ estimates)` : ""}`);
  for (const g of r.groups) {
    const id = g.schemaId === undefined ? "" : hex(g.schemaId);
    const name = g.message === undefined ? kindNames[g.kind] || "unknown ID (a newer deploy's revision?)" : `${g.message} r${g.revision}${dates.has(g.schemaId as number) ? ` (${dates.get(g.schemaId as number)})` : ""}${g.foreign ? " — another message" : ""}`;
    const count = g.estimatedCount === undefined ? String(g.count) : `≈${g.estimatedCount}`;
    const share = total === 0 ? 0 : Math.round((g.count / total) * 1000) / 10;
    console.log(`  ${id.padEnd(10)}  ${name.padEnd(44)}  ${count.padStart(10)}  ${String(share).padStart(5)}%  ${bytes(g.bytes)}`);
  }
}
