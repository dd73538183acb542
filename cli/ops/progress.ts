import cliProgress from "cli-progress";
import type { WalkProgress } from "../../src/index.js";

/** Shows how a long operation is going: a bar with rate and ETA on a terminal, a plain line every few seconds otherwise. */
export interface ProgressDisplay {
  update(progress: WalkProgress, detail: string): void;
  stop(): void;
}

const plainEveryMs = 5_000;

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * A progress display on stderr (stdout stays the report's). On a TTY a
 * cli-progress bar (the share done is estimated from SCAN steps over the
 * servers' key counts); otherwise one line per 5 s, for logs.
 */
export function progressDisplay(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {keys} keys | {rate} keys/s | ETA {eta_formatted} | {detail}`,
        etaBuffer: 50,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1000, 0, { keys: 0, rate: 0, detail: "" });
    return {
      update: (p, detail) => bar.update(Math.round(p.fraction * 1000), { keys: p.scanned, rate: Math.round(p.keysPerSecond), detail }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  let finished = false;
  return {
    update(p, detail) {
      if (finished || (p.elapsedMs - last < plainEveryMs && p.fraction < 1)) return;
      last = p.elapsedMs;
      finished = p.fraction >= 1;
      const eta = p.fraction > 0 && p.fraction < 1 ? `, ETA ${seconds((p.elapsedMs / p.fraction) * (1 - p.fraction))}` : "";
      stream.write(`${label}: ${p.scanned} keys, ~${Math.round(p.fraction * 100)}%, ${Math.round(p.keysPerSecond)} keys/s${eta}${detail === "" ? "" : `, ${detail}`}\n`);
    },
    stop() {},
  };
}
