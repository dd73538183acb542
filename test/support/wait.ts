/**
 * Waits until `condition` holds (polled every `intervalMs`), instead of a
 * fixed sleep that guesses how long it takes: on a saturated machine what
 * takes 50 ms idle may take seconds. `timeoutMs` is a hang guard, generous
 * on purpose (docs/reliability.md, "A test suite that holds on a busy
 * machine"); past it, the error names `what` was awaited.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, { timeoutMs = 30_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > until) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
