/**
 * `protocache check`: the CI gate that rejects schema changes that would
 * break entries already in the cache.
 * @packageDocumentation
 */
export { formatFinding, type Finding } from "./finding.js";
export { CheckEnvironmentError } from "./git.js";
export { runCheck, type CheckOptions, type CheckReport } from "./run-check.js";
