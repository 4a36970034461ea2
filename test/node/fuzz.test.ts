/**
 * The fuzz ring: random valid calls of every operation on the GPU (Dawn) against the float64
 * reference, random invalid calls that must be rejected cleanly, and a soak of mixed calls that must
 * leave the context's buffers as they were. Helpers in test/helpers/fuzz/: settings.ts (FUZZ_SEED,
 * FUZZ_SCALE, FUZZ_RUNS, FUZZ_SOAK, FUZZ_PATH, FUZZ_BUDGET), budget.ts (a cap on distinct pipelines),
 * one spec/arbitrary/runner file per operation (sdpa-*, local, linear, mha-*), rule.ts (an
 * independent statement of §3 that judges the reference), invalid*.ts (mutation tables), soak.ts.
 *
 *   npx vitest run --project node test/node/fuzz.test.ts        the ring as `npm test` runs it (scale 0.5)
 *   npm run fuzz                                                 scale 10 (20× longer), a random seed
 *   FUZZ_SEED=… FUZZ_PATH=… npx vitest run … -t '<property>'     replay a failure (printed with it)
 *
 * Invalid-call properties report every distinct problem, not only the first. The soak's stream of
 * calls depends on the seed and on what the properties before it compiled (the budget): replay it
 * with the same seed and the whole file.
 *
 * Flavours of valid calls: `ordinary` (finite data, masks of ordinary values and −∞), `extreme`
 * (float masks of finfo(float32).min, ±1e30, ±1e38, 3e38, …: all added, none removes a key),
 * `large` (float masks of ±1e3 … 1e6, ONNX Runtime's −10000 among them) and `nonfinite` (NaN and
 * ±∞ placed in q, k, v, float masks, rpb, x; docs/semantics.md §3). A NaN must meet a NaN, ±∞ must
 * match exactly, finite values meet the tolerance of §10.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admit, admitted, closeShrinkWindow, opensOnFailure } from '../helpers/fuzz/budget';
import { invalidArb, rejectionProblems, type MutationTable } from '../helpers/fuzz/invalid';
import { localMutations } from '../helpers/fuzz/invalid-local';
import { MHA_CONFIG_MUTATIONS, MHA_FORWARD_MUTATIONS } from '../helpers/fuzz/invalid-mha';
import { LINEAR_MUTATIONS, TENSOR_MUTATIONS, WRAP_MUTATIONS } from '../helpers/fuzz/invalid-misc';
import { sdpaMutations } from '../helpers/fuzz/invalid-sdpa';
import { checkLinear, linearArb, linearKey } from '../helpers/fuzz/linear';
import { checkLocal, localArb, localKey } from '../helpers/fuzz/local';
import { checkMha } from '../helpers/fuzz/mha-run';
import { mhaArb, mhaKeys } from '../helpers/fuzz/mha-spec';
import { checkReferenceRule, checkSdpa } from '../helpers/fuzz/sdpa-run';
import { naiveKey, flashKey, sdpaArb, type Flavour } from '../helpers/fuzz/sdpa-spec';
import { checkProperty, SETTINGS, seedLine, timeoutFor } from '../helpers/fuzz/settings';
import { describeSoak, soak } from '../helpers/fuzz/soak';
import { destroyWorld, makeWorld, type World } from '../helpers/fuzz/world';

let w: World;
beforeAll(async () => {
  console.log(seedLine());
  w = await makeWorld();
});
afterAll(() => {
  console.log(
    `[fuzz] variants admitted: ${JSON.stringify(admitted())}; pipelines compiled: ${w?.attn.stats.pipelines}`,
  );
  destroyWorld(w);
});

const FLAVOURS: Flavour[] = ['ordinary', 'extreme', 'large', 'nonfinite'];
/** Runs per property at FUZZ_SCALE = 1: the first variants compile (~0.5 s each), the rest take ms. */
const RUNS: Record<Flavour, number> = { ordinary: 60, extreme: 30, large: 20, nonfinite: 40 };

/** One GPU property as a test: a case runs only when its pipelines are within the compile budget. */
function gpuTest<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  pipelines: (t: T) => boolean,
  body: (t: T) => Promise<void>,
  runs: number,
) {
  const property = fc.asyncProperty(
    arb,
    opensOnFailure(async (t: T) => {
      fc.pre(pipelines(t));
      await body(t);
    }),
  );
  it(
    name,
    () => {
      closeShrinkWindow();
      return checkProperty(name, property, runs);
    },
    timeoutFor(110_000),
  );
}

describe('valid calls against the float64 reference', () => {
  for (const flavour of FLAVOURS) {
    gpuTest(
      `sdpa flash ${flavour}`,
      sdpaArb(flavour),
      (s) => admit('flash', flashKey(s)),
      (s) => checkSdpa(w, 'flash', s),
      RUNS[flavour],
    );
    gpuTest(
      `sdpa naive ${flavour}`,
      sdpaArb(flavour),
      (s) => admit('naive', naiveKey(s)),
      (s) => checkSdpa(w, 'naive', s),
      RUNS[flavour],
    );
  }
  for (const flavour of ['ordinary', 'nonfinite'] as const) {
    gpuTest(
      `neighborhood ${flavour}`,
      localArb(flavour),
      (s) => admit('local', localKey(s)),
      (s) => checkLocal(w, s),
      RUNS[flavour],
    );
    gpuTest(
      `linear ${flavour}`,
      linearArb(flavour),
      (s) => admit('linear', linearKey(s)),
      (s) => checkLinear(w, s),
      RUNS[flavour],
    );
  }
  for (const flavour of ['ordinary', 'extreme', 'nonfinite'] as const) {
    gpuTest(
      `multiHeadAttention ${flavour}`,
      mhaArb(flavour),
      (s) => admit('mha', mhaKeys(s)),
      (s) => checkMha(w, s),
      RUNS[flavour],
    );
  }
});

describe('the reference against an independent statement of the rule (CPU only)', () => {
  for (const flavour of FLAVOURS) {
    const name = `reference follows the §3 rule, ${flavour}`;
    it(name, () =>
      checkProperty(
        name,
        fc.asyncProperty(sdpaArb(flavour), async (s) => checkReferenceRule(s)),
        RUNS[flavour] * 4,
      ),
    );
  }
});

const TABLES: Record<string, MutationTable> = {
  sdpa: sdpaMutations('sdpa'),
  sdpaNaive: sdpaMutations('sdpaNaive'),
  neighborhood2d: localMutations(2),
  neighborhood1d: localMutations(1),
  linear: LINEAR_MUTATIONS,
  tensor: TENSOR_MUTATIONS,
  wrap: WRAP_MUTATIONS,
  'multiHeadAttention config': MHA_CONFIG_MUTATIONS,
  'multiHeadAttention forward': MHA_FORWARD_MUTATIONS,
};

describe('invalid calls throw an AttentionError naming the argument and take nothing', () => {
  // Every run is checked, and every distinct problem (mutation and value) is reported at the end,
  // not only the first: the cases are already minimal, there is nothing to shrink.
  for (const [op, table] of Object.entries(TABLES)) {
    const name = `invalid ${op}`;
    it(name, async () => {
      const found = new Map<string, string>();
      await checkProperty(
        name,
        fc.asyncProperty(invalidArb(op, table), async (spec) => {
          const problems = rejectionProblems(w, table, spec);
          const key = `${spec.kind} = ${fc.stringify(spec.value)}`;
          if (problems.length && !found.has(key))
            found.set(key, `${fc.stringify(spec)}\n    ${problems.join('\n    ')}`);
        }),
        Object.keys(table).length * 24,
      );
      expect(
        [...found.values()],
        `${found.size} invalid ${op} call(s) not rejected cleanly:\n  ${[...found.values()].join('\n  ')}`,
      ).toEqual([]);
    });
  }
});

describe('soak', () => {
  it(
    `${SETTINGS.soakCalls} mixed calls leave the buffers as they were`,
    async () => {
      const r = await soak(w, SETTINGS.soakCalls, SETTINGS.seed, TABLES);
      console.log(describeSoak(r));
      const failures = [...r.problems];
      if (r.liveAfter !== r.liveBefore)
        failures.push(`liveBuffers ${r.liveBefore} before the soak, ${r.liveAfter} after`);
      if (r.pooledPeak > POOL_BOUND) failures.push(`pooledBytes reached ${r.pooledPeak}, over the bound ${POOL_BOUND}`);
      expect(failures, `the soak:\n  ${failures.join('\n  ')}`).toEqual([]);
    },
    timeoutFor(110_000),
  );
});

/** What the pool may hold during the soak: its shapes are small (the largest buffer is < 100 KiB). */
const POOL_BOUND = 16 * 1024 * 1024;
