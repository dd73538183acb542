import { describe, expect, it } from "vitest";
import { createSession, newSession } from "../../generated/acme/session/v1/session.cache.js";
import { createUser, newUser } from "../../generated/acme/user/v1/user.cache.js";

describe("generated constructors (createX)", () => {
  it("return every field at its zero value when given nothing", () => {
    expect(createUser()).toEqual(newUser());
    expect(createSession({})).toEqual(newSession());
  });

  it("take the given fields, oneofs and optional fields, and keep the zero value of the rest", () => {
    expect(createUser({ id: "42", verified: true })).toEqual({ ...newUser(), id: "42", verified: true });
    const session = createSession({ tenantId: "t", authMethod: { $case: "ssoProvider", ssoProvider: "okta" }, impersonatorId: "root", client: { ip: "::1", userAgent: "" } });
    expect(session).toEqual({ ...newSession(), tenantId: "t", authMethod: { $case: "ssoProvider", ssoProvider: "okta" }, impersonatorId: "root", client: { ip: "::1", userAgent: "" } });
  });

  it("copy nothing that is not a field of the message", () => {
    const value = createUser({ id: "1", extra: "x" } as never);
    expect(Object.keys(value)).toEqual(Object.keys(newUser()));
  });
});
