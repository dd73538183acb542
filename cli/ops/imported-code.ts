/**
 * Whether this run imported the service's own code (`migrate --module`):
 * importing a module runs it, and what it opened (a connection, a server)
 * would keep the command from exiting, so the CLI exits explicitly then.
 * A module of its own so that cli/main.ts can ask without loading the
 * operations.
 */
let imported = false;

/** Records that the service's code was imported. */
export function markServiceCodeImported(): void {
  imported = true;
}

/** True once the service's code was imported in this run. */
export function serviceCodeImported(): boolean {
  return imported;
}
