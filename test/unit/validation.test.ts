import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import {
  arrayOf,
  boolean,
  closestName,
  editDistance,
  integer,
  MAX_TTL_SECONDS,
  memoryStoreOptionsOf,
  oneOf,
  optional,
  options,
  storeOptionsOf,
  text,
  ttlSeconds,
  withDefault,
} from "../../src/tools/index.js";

function refusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("accepted");
}

describe("closest valid name", () => {
  it.each([
    ["dryrun", "dryRun"],
    ["dry-run", "dryRun"],
    ["dry_run", "dryRun"],
    ["DRYRUN", "dryRun"],
    ["dryRn", "dryRun"],
    ["comapre", "compare"],
    ["prefx", "prefix"],
    ["ttl", "ttlSeconds"],
    ["revison", "revisions"],
  ])("suggests for %s: %s", (name, expected) => {
    expect(closestName(name, ["dryRun", "compare", "prefix", "ttlSeconds", "revisions", "rate"])).toBe(expected);
  });

  it("suggests nothing when no name is close (a wrong suggestion is worse than none)", () => {
    expect(closestName("colour", ["protoDir", "outDir", "lockFile", "runtime"])).toBeUndefined();
    expect(closestName("x", ["count", "rate"])).toBeUndefined();
    expect(closestName("", ["count"])).toBeUndefined();
  });

  it("counts a swap of two neighbours as one edit", () => {
    expect(editDistance("comapre", "compare")).toBe(1);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("options(shape)", () => {
  const walk = options({ count: withDefault(integer(1, 100_000), 500), dryRun: optional(boolean()), name: optional(text({ nonEmpty: true })) }, { name: "walk options" });

  it("applies defaults, keeps given values and leaves undefined options out", () => {
    expect(walk(undefined, "")).toEqual({ count: 500 });
    expect(walk({ count: 10, dryRun: true }, "")).toEqual({ count: 10, dryRun: true });
    expect(Object.keys(walk({ dryRun: undefined }, ""))).toEqual(["count"]);
  });

  it("refuses an unknown name with the closest valid one and the list, naming the option", () => {
    const error = refusal(() => walk({ dryrun: true }, ""));
    expect(error.option).toBe("dryrun");
    expect(error.hint).toBe("did you mean dryRun?");
    expect(error.message).toBe("invalid option dryrun: unknown option; did you mean dryRun? (valid options are count, dryRun, name)");
    expect(refusal(() => walk({ nothingLikeIt: 1 }, "")).message).toBe("invalid option nothingLikeIt: unknown option; valid options are count, dryRun, name");
  });

  it("names nested options by their dotted path, and array elements by index", () => {
    const outer = options({ inner: optional(walk), ids: optional(arrayOf(integer(1))) });
    expect(refusal(() => outer({ inner: { count: 0 } }, "")).message).toBe("invalid option inner.count: expected a whole number from 1 to 100000, got number 0");
    expect(refusal(() => outer({ inner: { cout: 1 } }, "")).option).toBe("inner.cout");
    expect(refusal(() => outer({ ids: [1, 2, -3] }, "")).option).toBe("ids[2]");
  });

  it("refuses what is not a plain object, naming the top level by its name", () => {
    for (const bad of [null, 5, "x", [1]]) expect(refusal(() => walk(bad, "")).option).toBe("walk options");
    expect(refusal(() => options({}, { optional: false })(undefined, "target")).message).toBe("invalid option target: expected an object, got undefined");
  });

  it("refuses removed names with what to do instead, and skips unknown ones when told to ignore them", () => {
    const config = options({ outDir: optional(text()) }, { removed: { template: "remove it" } });
    expect(refusal(() => config({ template: "x" }, "protocache")).message).toBe("invalid option protocache.template: no longer an option: remove it");
    expect(options({ outDir: optional(text()) }, { unknown: "ignore" })({ future: 1, outDir: "o" }, "")).toEqual({ outDir: "o" });
  });

  it("checks types and ranges exactly: no truthy strings for booleans, no fractions or unsafe integers", () => {
    const check = options({ flag: optional(boolean()), n: optional(integer(0, 10)), mode: optional(oneOf(["a", "b"] as const)) });
    expect(refusal(() => check({ flag: "false" }, "")).message).toBe('invalid option flag: expected true or false, got string "false"');
    expect(refusal(() => check({ n: 1.5 }, "")).expected).toBe("a whole number from 0 to 10");
    expect(refusal(() => check({ n: 11 }, "")).option).toBe("n");
    expect(refusal(() => check({ mode: "A" }, "")).message).toBe('invalid option mode: expected one of "a", "b", got string "A"');
  });
});

describe("TTL options", () => {
  it("ttlSeconds(zero) takes whole seconds from 0 to MAX_TTL_SECONDS (10 years) and names the range and what 0 means when it refuses", () => {
    const ttl = ttlSeconds("no expiry");
    for (const ok of [0, 1, 3600, MAX_TTL_SECONDS]) expect(ttl(ok, "ttlSeconds")).toBe(ok);
    for (const bad of [-1, 1.5, MAX_TTL_SECONDS + 1, 2 ** 53 - 1, Infinity, "60"]) {
      const error = refusal(() => ttl(bad, "ttlSeconds"));
      expect(error.option).toBe("ttlSeconds");
      expect(error.expected).toBe("whole seconds from 0 to 315576000 (10 years; 0: no expiry)");
    }
    expect(refusal(() => ttlSeconds()(-1, "x")).expected).toBe("whole seconds from 0 to 315576000 (10 years)");
  });
});

describe("store option validators (for the stores to adopt)", () => {
  it("storeOptionsOf applies the default compare mode and tracking settings and refuses typos and bad values", () => {
    const tracking = { heartbeatMs: 1000, maxReconnectDelayMs: 2000 };
    expect(storeOptionsOf(undefined)).toEqual({ compare: "auto", tracking });
    expect(storeOptionsOf({ compare: "lua" })).toEqual({ compare: "lua", tracking });
    expect(storeOptionsOf({ tracking: { heartbeatMs: 250 } })).toEqual({ compare: "auto", tracking: { ...tracking, heartbeatMs: 250 } });
    expect(refusal(() => storeOptionsOf({ tracking: { heartbeatMs: 5 } })).option).toBe("store options.tracking.heartbeatMs");
    const typo = refusal(() => storeOptionsOf({ comapre: "lua" }));
    expect(typo.option).toBe("store options.comapre");
    expect(typo.hint).toBe("did you mean compare?");
    expect(refusal(() => storeOptionsOf({ compare: "ifeq" })).message).toBe('invalid option store options.compare: expected one of "auto", "lua", got string "ifeq"');
    expect(refusal(() => storeOptionsOf("lua")).message).toBe('invalid option store options: expected an object like { compare: "auto" } or nothing, got string "lua"');
  });

  it("memoryStoreOptionsOf takes a clock function and nothing else", () => {
    const now = (): number => 42;
    expect(memoryStoreOptionsOf({ now }).now).toBe(now);
    expect(memoryStoreOptionsOf(undefined).now).toBe(Date.now);
    expect(refusal(() => memoryStoreOptionsOf({ now: 42 })).option).toBe("store options.now");
    expect(refusal(() => memoryStoreOptionsOf({ clock: now })).option).toBe("store options.clock");
  });
});
