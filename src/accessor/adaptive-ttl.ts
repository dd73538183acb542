/**
 * Per-entry freshness without a field in the envelope (docs/loading.md,
 * "The loader decides"): readers measure an entry's age from its envelope's
 * written-at against their own fresh TTL, so an entry meant to be fresh for
 * another time than the accessor's is written with its written-at moved by
 * the difference, and `expire()` moves it back past the fresh TTL.
 */
import { readHeader } from "../envelope/header.js";
import { FIXED_HEADER_BYTES } from "../envelope/format.js";
import { MAX_TTL_SECONDS } from "../validation/ttl.js";
import { freshMsOf } from "./freshness.js";

/**
 * The written-at to store for an entry of `key` written at `now` that a
 * reader measuring with `readerTtlSeconds` (the accessor's fresh TTL, less
 * its per-key jitter) must see fresh for `entryTtlSeconds` (jittered the
 * same way): `now` moved by the difference of the two fresh times. A
 * shorter TTL moves it back (the entry turns stale sooner), a longer one
 * forward (a reader sees a writer's clock ahead: fresh). `now` itself when
 * the two are equal, or when the reader's TTL is 0 (its readers see every
 * entry fresh until Redis drops it). An entry TTL of 0 (no expiry) moves it
 * forward by {@link MAX_TTL_SECONDS}: fresh for readers for over 10 years.
 */
export function writtenAtFor(key: string, now: number, readerTtlSeconds: number, entryTtlSeconds: number, jitter: number): number {
  if (entryTtlSeconds === readerTtlSeconds || readerTtlSeconds === 0) return now;
  const reader = freshMsOf(key, readerTtlSeconds, jitter);
  const entry = entryTtlSeconds === 0 ? reader + MAX_TTL_SECONDS * 1000 : freshMsOf(key, entryTtlSeconds, jitter);
  return Math.round(now + entry - reader);
}

/**
 * A copy of the envelope `bytes` with its written-at set to `writtenAt` (ms
 * since the epoch, at most 2^48 - 1), everything else unchanged; undefined
 * when the bytes are no readable envelope header, have no written-at, or
 * are an absent marker (nothing there can be served stale).
 */
export function withWrittenAt(bytes: Buffer, writtenAt: number): Buffer | undefined {
  try {
    const header = readHeader(bytes);
    if (header.writtenAt === undefined || header.absent) return undefined;
  } catch {
    return undefined;
  }
  const out = Buffer.from(bytes);
  out.writeUIntBE(Math.max(0, Math.min(2 ** 48 - 1, Math.floor(writtenAt))), FIXED_HEADER_BYTES, 6);
  return out;
}
