/** Exit codes shared by every command. */
export const ExitCode = {
  /** Success, nothing to report. */
  ok: 0,
  /** The command ran and found problems (check failed, invalid schemas, failed migrations). */
  findings: 1,
  /** Bad usage or a broken environment (missing tool, unreadable config, no git ref). */
  usage: 2,
} as const;
