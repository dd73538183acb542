import { GenError, loadLockRevisions, loadProjectSchemas } from "../../codegen/index.js";
import { SchemaDecoder } from "../../src/descriptors/index.js";
import { inspect, type InspectReport, type SchemaEntry } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { bytes, hex, reportFailure } from "./context.js";

/** Options of `protocache inspect`. */
export interface InspectCommandOptions extends ConnectionOptions {
  readonly root: string;
  readonly key: string;
  readonly json: boolean;
  /** Also show the base64 descriptor (FileDescriptorSet) of the revision that wrote the entry. */
  readonly descriptor: boolean;
}

/** `protocache inspect <key>`: header, schema and revision, writer, age, TTL, payload as JSON. Exit 1 when the key is absent or its value cannot be read. */
export async function inspectCommand(o: InspectCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    const { lock } = await loadLockRevisions(o.root);
    const decoder = new SchemaDecoder(lock.map((e) => ({ id: e.id, message: e.message, major: e.major, revision: e.revision, descriptor: e.descriptor })));
    const connection = await connect(o);
    close = connection.close;
    let report = await inspect(connection.store, o.key, decoder);
    const id = report.header?.schemaId;
    if (id !== undefined && report.schema === undefined) {
      // An ID this lock does not know: decode as the newest revision of the key's entity, if proto/ names it.
      const fallbackMessage = await messageForKey(o.root, o.key);
      if (fallbackMessage !== undefined) report = await inspect(connection.store, o.key, decoder, { fallbackMessage });
    }
    if (o.json) console.log(JSON.stringify({ ok: report.exists && report.problem === undefined, ...jsonOf(report, o.descriptor) }, null, 2));
    else print(report, o.descriptor);
    return report.exists && report.problem === undefined ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportFailure("inspect", error, o.json);
  } finally {
    close();
  }
}

async function messageForKey(root: string, key: string): Promise<string | undefined> {
  try {
    const schemas = await loadProjectSchemas(root);
    const match = schemas.entities.filter((e) => new RegExp(`(^|:)${e.entity}:v${e.model.major}:`).test(key));
    return match.length === 1 ? match[0]?.current.message : undefined;
  } catch (error) {
    if (error instanceof GenError || (error as { name?: string }).name === "GenErrors") return undefined;
    throw error;
  }
}

/** A lock entry for people and scripts: the schema ID as `0x…` (as every other output), the descriptor only when asked. */
function schemaOf(entry: SchemaEntry | undefined, descriptor: boolean): Record<string, unknown> | undefined {
  if (entry === undefined) return undefined;
  const base64 = (entry as SchemaEntry & { descriptor?: string }).descriptor;
  return { id: hex(entry.id), message: entry.message, major: entry.major, revision: entry.revision, ...(descriptor && base64 !== undefined ? { descriptor: base64 } : {}) };
}

/** The report as `--json` prints it: schema IDs in hex, no descriptor unless `--descriptor`. */
function jsonOf(r: InspectReport, descriptor: boolean): Record<string, unknown> {
  return {
    ...r,
    header: r.header === undefined ? undefined : { ...r.header, schemaId: hex(r.header.schemaId) },
    schema: schemaOf(r.schema, descriptor),
    decodedAs: schemaOf(r.decodedAs, descriptor),
  };
}

function print(r: InspectReport, descriptor: boolean): void {
  if (!r.exists) {
    console.log(`${r.key}: no such key`);
    return;
  }
  const ttl = r.ttlMs === undefined ? "no expiry" : `expires in ${Math.round(r.ttlMs / 1000)} s (${new Date(r.expireAt as number).toISOString()})`;
  console.log(`${r.key}: ${r.kind}, ${bytes(r.bytes)}, ${ttl}`);
  if (r.header !== undefined) {
    const h = r.header;
    const schema = r.schema === undefined ? "not in this lock" : `${r.schema.message} r${r.schema.revision}`;
    console.log(`  envelope v${h.version}, schema ${hex(h.schemaId)} (${schema}), ${h.absent ? "absent marker (the loader said the entity does not exist; no payload)" : `compression ${h.compression}, payload ${bytes(h.payloadBytes)}`}`);
    console.log(`  writer ${h.writerTag ?? "(none)"}, written ${r.writtenAt === undefined ? "(not recorded)" : `${r.writtenAt}, ${Math.round((r.ageMs ?? 0) / 1000)} s ago`}`);
  }
  if (r.decodedAs !== undefined) console.log(`  decoded as ${r.decodedAs.message} r${r.decodedAs.revision} (newest known; fields of the newer revision show as unknown)`);
  if (r.preview !== undefined) console.log(`  value: ${r.preview}`);
  if (r.problem !== undefined) console.log(`  problem: ${r.problem}`);
  if (r.payload !== undefined) console.log(JSON.stringify(r.payload, null, 2).replace(/^/gm, "  "));
  const base64 = schemaOf(r.decodedAs ?? r.schema, descriptor)?.["descriptor"];
  if (base64 !== undefined) console.log(`  descriptor (FileDescriptorSet, base64): ${String(base64)}`);
}
