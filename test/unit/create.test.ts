import { describe, expect, it } from "vitest";
import { createSession, newSession } from "../../generated/acme/session/v1/session.cache.js";
import { createUser, newUser, userCache } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, newUser as newUserV2 } from "../../generated/acme/user/v2/user.cache.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { userR1Entry } from "../support/entries.js";

/** acme.user.v1.User's declared defaults (proto/acme/user/v1/user.proto). */
const userDefaults = { fullName: "Unknown", verified: true, locale: "en-US" };

describe("generated constructors (createX)", () => {
  it("give every field its declared default, and the zero value where none is declared", () => {
    expect(createUser()).toEqual({ ...newUser(), ...userDefaults });
    expect(createUser({})).toEqual({ ...newUser(), ...userDefaults });
    expect(createUserV2()).toEqual({ ...newUserV2(), locale: "en-US" });
    expect(createSession({})).toEqual(newSession());
  });

  it("take the given fields, oneofs and optional fields over the defaults, zero values included; undefined is not given", () => {
    expect(createUser({ id: "42", verified: true })).toEqual({ ...newUser(), ...userDefaults, id: "42" });
    expect(createUser({ id: "42", fullName: "", verified: false, locale: "" })).toEqual({ ...newUser(), id: "42" });
    expect(createUser({ fullName: "Ada", verified: undefined } as never)).toEqual({ ...newUser(), ...userDefaults, fullName: "Ada" });
    const session = createSession({ tenantId: "t", authMethod: { $case: "ssoProvider", ssoProvider: "okta" }, impersonatorId: "root", client: { ip: "::1", userAgent: "" } });
    expect(session).toEqual({ ...newSession(), tenantId: "t", authMethod: { $case: "ssoProvider", ssoProvider: "okta" }, impersonatorId: "root", client: { ip: "::1", userAgent: "" } });
  });

  it("copy nothing that is not a field of the message", () => {
    const value = createUser({ id: "1", extra: "x" } as never);
    expect(Object.keys(value)).toEqual(Object.keys(newUser()));
  });
});

describe("declared defaults are the create defaults", () => {
  it("a value made by createUser and an entry of an older revision read with the same defaults", async () => {
    const store = new MemoryStore();
    const users = userCache(store);
    // Revision 1 had only id, name and email: its entries read with the declared defaults.
    store.setRaw("user:v1:old", userR1Entry({ id: "old", name: "ada", email: "a@x" }));
    expect(await users.getEntry({ id: "old" })).toMatchObject({ outcome: "upgraded", value: createUser({ id: "old", name: "ada", email: "a@x" }) });
    // Written back as the current revision: the defaults are now stored values, read the same.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await users.getEntry({ id: "old" })).toMatchObject({ outcome: "hit", value: createUser({ id: "old", name: "ada", email: "a@x" }) });
  });

  it("survive a round trip through the cache: non-zero defaults are written as ordinary values, given zero values stay zero", async () => {
    const users = userCache(new MemoryStore());
    const made = createUser({ id: "new" });
    expect(await users.set(made)).toBe("written");
    expect(await users.get({ id: "new" })).toEqual(made);
    // A current-revision entry is never filled: a false, "" written (as nothing: implicit presence) reads as false, "".
    const zeros = createUser({ id: "zeros", fullName: "", verified: false, locale: "" });
    await users.set(zeros);
    expect(await users.get({ id: "zeros" })).toEqual(zeros);
    expect((await users.getEntry({ id: "zeros" })).outcome).toBe("hit");
  });
});
