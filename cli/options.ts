import { CommanderError } from "commander";
import { ConfigError, integer, invalid, refine, schemaId, text, walkOptionChecks, type Check } from "../src/tools/index.js";
import { ExitCode } from "./exit-codes.js";

/** A bad command-line option value: its one line is printed as is, and the command exits 2. */
export class OptionError extends CommanderError {
  constructor(line: string) {
    super(ExitCode.usage, "protocache.option", line);
    this.name = "OptionError";
  }
}

/**
 * What the CLI prints for a refused option value: the flag (or variable),
 * what was given and the valid form, e.g.
 * `invalid --count "abc": expected a whole number from 1 to 100000`.
 */
export function optionLine(flag: string, given: string, error: ConfigError): string {
  const valid = error.expected === undefined ? error.reason : `expected ${error.expected}`;
  return `invalid ${flag} ${JSON.stringify(given)}: ${valid}${error.hint === undefined ? "" : `; ${error.hint}`}`;
}

/** Text that reads as a number becomes one, so the check tells a wrong number (0, -5, 1.5) from text. */
function numeric(value: string): unknown {
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim()) ? Number(value) : value;
}

/** A schema ID as typed: `0x` and up to 8 hex digits, or decimal. */
function schemaIdText(value: string): unknown {
  return /^0x[0-9a-f]{1,8}$/i.test(value) ? Number.parseInt(value.slice(2), 16) : /^\d+$/.test(value) ? Number(value) : value;
}

const urlForm = "a Redis URL like redis://[user:password@]host[:port][/db] (rediss:// for TLS)";

/**
 * A Redis URL node-redis can connect with, refused with what is wrong:
 * `localhost:6379` (no scheme: did you mean redis://localhost:6379?), a
 * port that is not a number or over 65535, a database that is not one.
 */
export const redisUrl: Check<string> = refine(text({ nonEmpty: true, expected: urlForm }), (url, path) => {
  if (url.startsWith("unix:")) return url;
  const fail = (hint: string): never => {
    throw invalid(path, urlForm, url, hint);
  };
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    const port = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^/@]*@)?(?:\[[^\]]*\]|[^:/]*):([^/?#]*)/i.exec(url)?.[1];
    if (port !== undefined && !/^\d+$/.test(port)) fail(`the port "${port}" is not a number`);
    if (port !== undefined && Number(port) > 65_535) fail(`the port ${port} is over 65535`);
    fail("it does not parse as a URL");
  }
  const u = parsed as URL;
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    if (/^[^/:@]+:\d{1,5}$/.test(url)) fail(`did you mean redis://${url}?`);
    fail(`the scheme is ${JSON.stringify(u.protocol.slice(0, -1))}, not redis or rediss`);
  }
  if (u.hostname === "") fail("it names no host");
  if (u.pathname.length > 1 && !/^\/\d+$/.test(u.pathname)) fail(`the database ${JSON.stringify(decodeURIComponent(u.pathname.slice(1)))} is not a number`);
  return url;
});

const nodesForm = "Cluster seed nodes host:port[,host:port…]";

/** `host:port[,host:port…]` (IPv6 hosts in brackets), as node-redis's root nodes. */
export const clusterNodes: Check<{ host: string; port: number }[]> = refine(text({ nonEmpty: true, expected: nodesForm }), (list, path) => {
  const nodes = list.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (nodes.length === 0) throw invalid(path, nodesForm, list);
  return nodes.map((node) => {
    const match = /^(.+):(\d{1,5})$/.exec(node);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) throw invalid(path, nodesForm, list, `${JSON.stringify(node)} is not host:port`);
    return { host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
  });
});

/**
 * The checks of the operations' flags: the walking operations' own checks
 * (so `--count` takes exactly the range `count` does), plus the CLI's.
 */
export const flagChecks = {
  count: walkOptionChecks.count,
  rate: walkOptionChecks.rate,
  sample: walkOptionChecks.limit,
  revision: integer(1, Number.MAX_SAFE_INTEGER, "a revision number (a whole number >= 1)"),
  major: integer(1, Number.MAX_SAFE_INTEGER, "a major version (a whole number >= 1)"),
  schemaId: schemaId(),
  redis: redisUrl,
  cluster: clusterNodes,
  keepSeconds: integer(1, 315_576_000, "whole seconds from 1 to 315576000 (10 years)"),
} as const;

/** Commander argument parsers for one command's flags: each value goes through its check, and a refusal is one line naming the command. */
export function flagParsers(command: string) {
  const parser =
    <T>(flag: string, check: Check<T>, from: (value: string) => unknown) =>
    (value: string): T => {
      try {
        return check(from(value), flag);
      } catch (error) {
        if (error instanceof ConfigError) throw new OptionError(`protocache ${command}: ${optionLine(flag, value, error)}`);
        throw error;
      }
    };
  return {
    /** A number flag (`--count 500`). */
    number: <T>(flag: string, check: Check<T>) => parser(flag, check, numeric),
    /** A schema ID flag (`--schema-id 0x1a2b3c4d`). */
    schemaId: (flag: string) => parser(flag, flagChecks.schemaId, schemaIdText),
    /** A text flag checked as it is (`--redis <url>`); the text is kept (commander's value), the check only refuses. */
    text: (flag: string, check: Check<unknown>) =>
      parser(flag, (value, path) => {
        check(value, path);
        return value as string;
      }, (value) => value),
    /** A repeatable flag: every value parsed, collected in order. */
    repeated:
      <T>(parse: (value: string) => T) =>
      (value: string, previous: T[] = []): T[] => [...previous, parse(value)],
  };
}
