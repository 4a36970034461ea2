/**
 * Settings of the fuzz ring, read from the environment, and the one way a property is run.
 *
 *   FUZZ_SEED   fast-check seed (an integer, or `random`). Default: a fixed seed when neither
 *               FUZZ_SCALE nor FUZZ_RUNS is set (`npm test`), a random one otherwise (`npm run fuzz`).
 *   FUZZ_SCALE  multiplies every property's run count, the soak's call count and the compile budget.
 *               Default DEFAULT_SCALE (0.5: what `npm test` runs); `npm run fuzz` sets 10.
 *   FUZZ_RUNS   runs per property, overriding the scaled default.
 *   FUZZ_SOAK   calls of the soak (default 10000 × FUZZ_SCALE).
 *   FUZZ_PATH   fast-check replay path of a failure (with its FUZZ_SEED and `-t '<property>'`).
 *   FUZZ_BUDGET `off`: no cap on distinct kernel variants (see budget.ts).
 *
 * Every run prints the seed; every failure prints the command that replays it.
 */
import fc from 'fast-check';

const DEFAULT_SEED = 20261130;
/**
 * FUZZ_SCALE when it is not set, as `npm test` runs the ring: half the runs, soak calls and new
 * pipelines of scale 1 (the ring is a minute of `npm test` at 1, mostly SwiftShader compiles).
 */
export const DEFAULT_SCALE = 0.5;

export interface FuzzSettings {
  seed: number;
  scale: number;
  runs: number | undefined;
  soakCalls: number;
  path: string | undefined;
  budget: boolean;
}

function numberFrom(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${text}: expected a positive number`);
  return value;
}

function readSettings(): FuzzSettings {
  const scaleSet = numberFrom('FUZZ_SCALE');
  const scale = scaleSet ?? DEFAULT_SCALE;
  const runs = numberFrom('FUZZ_RUNS');
  const fuzzing = scaleSet !== undefined || runs !== undefined;
  const seedText = process.env.FUZZ_SEED;
  const random = seedText === 'random' || ((seedText === undefined || seedText === '') && fuzzing);
  const seed = random
    ? (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0
    : seedText
      ? Number(seedText) | 0
      : DEFAULT_SEED;
  if (seedText && !random && !Number.isInteger(Number(seedText)))
    throw new Error(`FUZZ_SEED=${seedText}: not an integer`);
  return {
    seed,
    scale,
    runs: runs === undefined ? undefined : Math.round(runs),
    soakCalls: Math.round(numberFrom('FUZZ_SOAK') ?? 10_000 * scale),
    path: process.env.FUZZ_PATH || undefined,
    budget: process.env.FUZZ_BUDGET !== 'off',
  };
}

export const SETTINGS = readSettings();

/** Runs of a property whose `npm test` default is `base`. */
export function runsFor(base: number): number {
  return SETTINGS.runs ?? Math.max(1, Math.round(base * SETTINGS.scale));
}

/** A vitest timeout for a test that takes about `baseMs` at scale 1. */
export function timeoutFor(baseMs: number): number {
  const factor = SETTINGS.runs !== undefined ? Math.max(1, SETTINGS.runs / 20) : SETTINGS.scale;
  return Math.max(120_000, Math.round(baseMs * Math.max(1, factor)));
}

/** The line every run prints. */
export function seedLine(): string {
  return `[fuzz] seed=${SETTINGS.seed} scale=${SETTINGS.scale}${SETTINGS.runs ? ` runs=${SETTINGS.runs}` : ''} soak=${SETTINGS.soakCalls} (replay: FUZZ_SEED=${SETTINGS.seed})`;
}

/**
 * Runs `property` with the ring's seed and `runsFor(baseRuns)` runs; on failure throws the
 * shrunk counterexample, the error it gave, and the command that replays it.
 */
export async function checkProperty<T>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<[T]> | fc.IAsyncProperty<[T]>,
  baseRuns: number,
): Promise<void> {
  const numRuns = runsFor(baseRuns);
  const started = performance.now();
  const out = await fc.check(property, {
    seed: SETTINGS.seed,
    numRuns,
    path: SETTINGS.path,
    maxSkipsPerRun: 1000,
    endOnFailure: false,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (!out.failed) {
    console.log(`[fuzz] ${name}: ${out.numRuns} runs, ${out.numSkips} skipped, ${seconds} s`);
    return;
  }
  const replay =
    `FUZZ_SEED=${out.seed} FUZZ_PATH=${out.counterexamplePath} ` +
    `npx vitest run --project node test/node/fuzz.test.ts -t '${name}'`;
  const header = `${name}: failed after ${out.numRuns} run(s), shrunk ${out.numShrinks} time(s), ${seconds} s`;
  const example = `Counterexample: ${fc.stringify(out.counterexample)}`;
  const error = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  throw new Error(`${header}\n${example}\n${error}\nReplay: ${replay}`);
}
