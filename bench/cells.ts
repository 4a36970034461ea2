/**
 * What the bench parts of single operations (scores, variants, vision, graph) share: the check of a
 * result against the float64 reference, a cell timed after that check, and how a cell prints.
 */
import type { AttentionContext, GpuTensor } from '../src/index';
import type { Cell } from './report';
import { timeRuns, type RunPolicy } from './timing';

/** The first line of an error, short enough for a table cell. */
export const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160);

/** |got − ref| / (2e-5 + 1e-4·|ref|) over every element (≤ 1 passes; NaN where not expected is Infinity). */
export function worstOfAll(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let e = 0; e < want.length; e++) {
    const ratio = Math.abs(got[e] - want[e]) / (2e-5 + 1e-4 * Math.abs(want[e]));
    worst = Number.isNaN(ratio) ? Infinity : Math.max(worst, ratio);
  }
  return worst;
}

/** Times `call` after checking its first run (which also compiles) against `want`; a throw is a skipped cell. */
export async function timeCheckedCell(
  attn: AttentionContext,
  policy: RunPolicy,
  call: () => GpuTensor,
  want: () => ArrayLike<number>,
): Promise<Cell> {
  try {
    const first = call();
    const got = await first.read();
    first.destroy();
    const error = worstOfAll(got, want());
    const timing = await timeRuns(async () => {
      call().destroy();
      await attn.device.queue.onSubmittedWorkDone();
    }, policy);
    return { ms: timing.medianMs, runs: timing.runs, error, checked: 'full' };
  } catch (error) {
    return { skipped: firstLine(error) };
  }
}

/** A cell as `ms (×runs)`, marked **WRONG** when its check failed, or why it did not run. */
export const showCell = (c: Cell, digits = 1) =>
  c.ms !== undefined
    ? `${c.ms.toFixed(digits)} (×${c.runs})${c.error !== undefined && !(c.error <= 1) ? ' **WRONG**' : ''}`
    : `— (${c.skipped ?? 'not run'})`;
