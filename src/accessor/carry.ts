import type { CacheStore } from "../stores/store.js";

/** What a carry did: wrote the target, found it already written, or found the source changed or gone. */
export type CarryResult = "created" | "exists" | "changed";

/**
 * Copies an entry to another key (the previous major's entry to this
 * major's key, a legacy entry to its new key) without ever extending its
 * life or bringing back a deleted one:
 *
 * 1. read the source's value and absolute expiry atomically; go on only if
 *    it still holds the bytes that were read and converted;
 * 2. create the target only if absent (a newer write there wins), expiring
 *    at the same instant by the server's clock (PXAT): never a longer TTL,
 *    and no expiry stays no expiry;
 * 3. check the source again (with `deleteSource`, by deleting it only if
 *    unchanged): if it was changed or deleted meanwhile, delete the target
 *    only if it still holds what was written, so a delete that raced the
 *    copy wins. Deleters remove the source before the target. Only the
 *    instance that created the target deletes the source: another one
 *    deleting it would make the creator undo a good copy.
 */
export async function carry(
  store: CacheStore,
  source: string,
  expected: Buffer,
  target: string,
  value: Buffer,
  deleteSource: boolean,
  bound: Bound = (work) => work,
): Promise<CarryResult> {
  const found = await bound(store.getWithExpiry(source), "GET", source);
  if (found === null || !found.value.equals(expected)) return "changed";
  // The target exists: another instance copied it first (it deletes the source), or it was written anew.
  if (!(await bound(store.createIfAbsent(target, value, found.expireAt), "SET", target))) return "exists";
  const unchanged = deleteSource
    ? await bound(store.deleteIfEqual(source, expected), "CAD", source)
    : (await bound(store.get(source), "GET", source))?.equals(expected) === true;
  if (unchanged) return "created";
  await bound(store.deleteIfEqual(target, value), "CAD", target);
  return "changed";
}

/** Bounds one store call (the accessor's per-call deadline). */
export type Bound = <R>(work: Promise<R>, operation: string, key: string) => Promise<R>;
