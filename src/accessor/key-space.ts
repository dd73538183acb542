import { ConfigError, KeyError, ProtocacheError, UpgradeError } from "../errors.js";
import { describeValue, quoteCapped } from "../describe-value.js";
import { keyBase, KeyPartError } from "../keys.js";
import type { Entity } from "./entity.js";
import type { Migrations } from "./migrations.js";
import type { Outcomes } from "./outcomes.js";
import type { ResolvedOptions } from "./options.js";

/** The previous major as one accessor uses it: resolved once. */
export interface PreviousSide<T, K> {
  readonly entity: Entity<unknown, unknown>;
  readonly base: string;
  readonly options: ResolvedOptions<unknown>;
  readonly migrations: Migrations<T, K>;
  /** This major's key fields → the previous major's. */
  readonly mapKey: (fields: K) => unknown;
}

/**
 * The keys an accessor reads and writes: its own (`{prefix}{entity}:v{major}[:{variant}]:{parts}`),
 * the previous major's for a `migrates_from` entity, and the legacy key
 * space it adopts from. Every key is checked against `maxKeyBytes`.
 */
export class KeySpace<T, K> {
  /** `{prefix}{entity}:v{major}[:{variant}]:` */
  readonly base: string;
  /** UTF-8 bytes of {@link base}. */
  private readonly baseBytes: number;

  /** The key of `key`'s loading lease (docs/loading.md): `{prefix}lease:{entity}:v{major}…`, outside every key space a walk scans. */
  leaseKeyOf(key: string): string {
    const prefix = this.options.prefix;
    return `${prefix}lease:${key.slice(prefix.length)}`;
  }

  constructor(
    private readonly entity: Entity<T, K>,
    private readonly options: ResolvedOptions<T>,
    /** The previous major, for an entity with `migrates_from`. */
    readonly previous: PreviousSide<T, K> | undefined,
  ) {
    this.base = keyBase(options.prefix, entity.entity, entity.major, options.variant);
    const baseBytes = (this.baseBytes = Buffer.byteLength(this.base));
    if (baseBytes >= options.maxKeyBytes) {
      throw new ConfigError("maxKeyBytes", `${options.maxKeyBytes} bytes leave no room for a key part after ${quoteCapped(this.base)} (${baseBytes} bytes)`);
    }
  }

  /** This major's key of `fields` (or of a value: its own key fields). */
  keyOf(fields: K): string {
    return this.base + this.idOf(fields);
  }

  /**
   * The part of `fields`' key after {@link base} (the key fields, escaped),
   * checked like the whole key: what an accessor's L1 is keyed by, so that a
   * hit builds no key string (a caller's unescaped string id is the part itself).
   */
  idOf(fields: K): string {
    return this.partIn(this.base, this.entity, fields);
  }

  /** The key under `base` of an entity's key fields; a key part or length problem is a KeyError. */
  keyIn<E, F>(base: string, entity: Entity<E, F>, fields: F): string {
    return base + this.partIn(base, entity, fields);
  }

  /** The part after `base` of the key of an entity's key fields, checked as the whole key: a key part or length problem is a KeyError. */
  private partIn<E, F>(base: string, entity: Entity<E, F>, fields: F): string {
    let part: string;
    try {
      part = entity.key(fields);
    } catch (error) {
      if (error instanceof KeyPartError) throw new KeyError(entity.typeName, error.field, error.message);
      if (fields === null || typeof fields !== "object") {
        throw new KeyError(entity.typeName, entity.keyFields.join(", "), `expected an object with the key fields, got ${describeValue(fields)}`);
      }
      throw error;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: most keys need no byte count.
    const max = this.options.maxKeyBytes;
    if ((base.length + part.length) * 3 > max) {
      const bytes = (base === this.base ? this.baseBytes : Buffer.byteLength(base)) + Buffer.byteLength(part);
      if (bytes > max) throw new KeyError(entity.typeName, entity.keyFields.join(", "), `makes the key ${bytes} bytes, over maxKeyBytes (${max})`);
    }
    return part;
  }

  /** The previous major's key for this major's key fields (only with a previous major). */
  previousKeyOf(fields: K): string {
    const p = this.previous as PreviousSide<T, K>;
    return this.keyIn(p.base, p.entity, p.mapKey(fields));
  }

  /** The legacy key of `fields`, by the configured key function. */
  legacyKeyOf(map: (fields: unknown) => string, fields: K): string {
    const key = map(fields);
    if (typeof key !== "string" || key === "") throw new ConfigError("legacy.key", `expected a non-empty string key, got ${typeof key === "string" ? '""' : typeof key}`);
    return key;
  }

  /** Keys of another key space for each key's fields; a mapping that throws is reported and that key skipped. */
  mappedKeys(fields: readonly K[], map: (fields: K) => string, what: string, outcomes: Outcomes): (string | undefined)[] {
    return fields.map((f) => {
      try {
        return map(f);
      } catch (error) {
        outcomes.report(error instanceof ProtocacheError ? error : new UpgradeError(this.entity.typeName, undefined, what, error));
        return undefined;
      }
    });
  }
}
