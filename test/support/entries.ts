import protobuf from "protobufjs";
import { userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { schemaRegistry } from "../../generated/registry.js";
import { schemaDecoder } from "./descriptors.js";

/**
 * Entries as other code would have written them, built independently of
 * protocache's writer: an envelope by hand, payloads by protobufjs.
 */
export function envelope(schemaId: number, payload: Uint8Array, options: { writtenAt?: number; flags?: number; version?: number } = {}): Buffer {
  const head = Buffer.alloc(7);
  head[0] = 0xc1;
  head[1] = options.version ?? 1;
  head.writeUInt32BE(schemaId, 3);
  let flags = options.flags ?? 0;
  const parts: Buffer[] = [head];
  if (options.writtenAt !== undefined) {
    flags |= 0x04;
    const at = Buffer.alloc(6);
    at.writeUIntBE(options.writtenAt, 0, 6);
    parts.push(at);
  }
  head[2] = flags;
  parts.push(Buffer.from(payload));
  return Buffer.concat(parts);
}

/** Schema ID of revision `n` of acme.user.v1.User, from the generated registry. */
export function userRevisionId(n: number): number {
  const entry = schemaRegistry.revisionsOf(userEntity.typeName).find((e) => e.revision === n);
  if (entry === undefined) throw new Error(`no revision ${n} of User in the lock`);
  return entry.id;
}

/** An entry exactly as revision-1 code wrote it: `{ id, name, email }` through the lock's r1 descriptor. */
export function userR1Entry(value: { id: string; name: string; email: string }): Buffer {
  const id = userRevisionId(1);
  const type = schemaDecoder.typeOf(id);
  return envelope(id, type.encode(type.fromObject(value)).finish());
}

const newerUser = protobuf.parse(`
syntax = "proto3";
package acme.user.v1;
message User {
  string id = 1; string name = 2; string email = 3; string full_name = 4; bool verified = 5; string locale = 6;
  string nickname = 7;
}`).root.lookupType("acme.user.v1.User");

/** Schema ID a future revision of User (with `nickname = 7`) might get; not in our lock. */
export const newerUserId = 0x7e57_0001;

/** An entry written by a newer deploy whose User has a `nickname` field this code does not know. */
export function newerUserEntry(value: Record<string, unknown>): Buffer {
  return envelope(newerUserId, newerUser.encode(newerUser.fromObject(value)).finish());
}
