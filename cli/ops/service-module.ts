import { markServiceCodeImported } from "./imported-code.js";
import { existsSync, statSync } from "node:fs";
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import type { AccessorOptions, CacheStore, EntityCache } from "../../src/index.js";
import { entityOfFactory } from "../../src/tools/index.js";
import { hex, UsageError } from "./context.js";

/** An accessor factory exported by a service's module, as `defineUserCache(...)` returned it. */
export type ServiceFactory = (store: CacheStore, options?: AccessorOptions<unknown, unknown>) => EntityCache<unknown, unknown>;

/** What the factory must make: the entity as proto/ and the lock hold it now. */
export interface WantedEntity {
  /** Full message name, e.g. `acme.user.v2.User`. */
  readonly message: string;
  readonly major: number;
  /** The schema ID of the revision proto/ holds now (the compiled code must write it). */
  readonly currentId: number;
  readonly currentRevision: number;
  /** The generated define function, e.g. `defineUserCache`. */
  readonly define: string;
  /** How the project regenerates its code, e.g. `npm run gen`. */
  readonly gen: string;
}

const build = "build the service first (its build script, e.g. `npx tsc -p tsconfig.json`; its imports, the generated modules among them, must be compiled too)";

/**
 * Loads a service's compiled module (`--module`) and finds among its exports
 * the accessor factory of `want` (the function the generated `defineXCache`
 * returned: it names its entity, so nothing is called to find it). Importing
 * the module runs the service's own `defineXCache(...)`, which records its
 * typed migrations (upgrade hooks, `fromPrevious`) for that entity. Every
 * way this can fail is a {@link UsageError} (exit 2) that says what to build
 * or export: a missing file, TypeScript source, an import that does not
 * resolve, a module that throws, no such factory, or code compiled from
 * other schemas than proto/ holds now.
 */
export async function loadServiceFactory(file: string, want: WantedEntity): Promise<{ readonly name: string; readonly factory: ServiceFactory }> {
  const shown = relative(process.cwd(), file) || file;
  const option = `--module ${shown}`;
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new UsageError(`${option}: no such file. --module takes the service's compiled JavaScript module that exports the factory ${want.define}(...) returns: ${build}, then pass the file the build wrote`);
  }
  if (/\.[cm]?tsx?$/.test(file)) {
    throw new UsageError(`${option} is TypeScript source: pass the JavaScript module your build writes from it (e.g. dist/src/caches.js after \`npx tsc\`)`);
  }
  let loaded: Record<string, unknown>;
  try {
    markServiceCodeImported();
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const first = (e.message ?? String(error)).split("\n")[0];
    if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "ERR_UNSUPPORTED_DIR_IMPORT") throw new UsageError(`${option} cannot be loaded: ${first}; ${build}`);
    throw new UsageError(`${option} threw while loading: ${first}`);
  }
  const factories = Object.entries(loaded).flatMap(([name, value]) => {
    const entity = entityOfFactory(value);
    return entity === undefined ? [] : [{ name, entity, factory: value as ServiceFactory }];
  });
  const match = factories.find((f) => f.entity.typeName === want.message && f.entity.major === want.major);
  if (match === undefined) {
    const found = factories.length === 0 ? "none" : factories.map((f) => `${f.name} (${f.entity.typeName})`).join(", ");
    throw new UsageError(
      `${option} exports no accessor factory of ${want.message} (factories it exports: ${found}): export the one ${want.define} returns, e.g. \`export const ${factoryName(want.define)} = ${want.define}({ ... })\`, and rebuild`,
    );
  }
  if (match.entity.current.schemaId !== want.currentId) {
    throw new UsageError(
      `${option} was compiled from other schemas: its ${want.message} writes r${match.entity.current.revision} (${hex(match.entity.current.schemaId)}), proto/ holds r${want.currentRevision} (${hex(want.currentId)}): run ${want.gen} and rebuild the service`,
    );
  }
  return { name: match.name, factory: match.factory };
}

/** `defineUserCache` → `userCache`. */
function factoryName(define: string): string {
  const name = define.replace(/^define/, "");
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}`;
}
