/** How a name is compared: case, `-` and `_` ignored (`dryrun`, `dry-run` and `dry_run` are all `dryRun`). */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, "");
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`: the optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] as number;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The valid name a misspelt `name` most likely meant, or undefined when
 * none is close: equal but for case, `-` and `_`; or a few edits away (at
 * most a third of the name's length, at least one); or the start of a
 * longer valid name (`ttl` → `ttlSeconds`). Ties go to the earlier
 * candidate.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalise(name);
  if (wanted === "") return undefined;
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  for (const candidate of candidates) {
    const other = normalise(candidate);
    const distance = editDistance(wanted, other);
    const prefix = wanted.length >= 3 && (other.startsWith(wanted) || wanted.startsWith(other));
    const score = distance <= limit ? distance : prefix ? limit + 0.5 : Number.POSITIVE_INFINITY;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
