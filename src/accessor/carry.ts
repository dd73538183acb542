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
 *    copy wins. Deleters remove the source before the target.
 */
export async function carry(store: CacheStore, source: string, expected: Buffer, target: string, value: Buffer, deleteSource: boolean): Promise<CarryResult> {
  const found = await store.getWithExpiry(source);
  if (found === null || !found.value.equals(expected)) return "changed";
  const created = await store.createIfAbsent(target, value, found.expireAt);
  if (!created) {
    if (deleteSource) await store.deleteIfEqual(source, expected);
    return "exists";
  }
  const unchanged = deleteSource ? await store.deleteIfEqual(source, expected) : (await store.get(source))?.equals(expected) === true;
  if (unchanged) return "created";
  await store.deleteIfEqual(target, value);
  return "changed";
}
