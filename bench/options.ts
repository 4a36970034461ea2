/**
 * The bench's command line (bench/run.ts lists the options): what to run, how many runs, the time
 * cap, the device's peak and PyTorch's figures.
 */
import type { DecodeOptions } from './decode';
import type { LocalOptions } from './local';
import type { MhaOptions } from './mha';
import type { ScoreOptions } from './score-functions';
import type { VisionBenchOptions } from './vision';
import type { LongOptions } from './long-inputs';
import type { GraphBenchOptions } from './graph';
import type { VariantOptions } from './variants';
import type { RunPolicy } from './timing';

export interface Options {
  lengths: number[];
  policy: RunPolicy;
  cpuMax: number;
  maxRunS: number;
  ort: boolean;
  json: string | null;
  quick: boolean;
  parts: {
    sdpa: boolean;
    local: boolean;
    mha: boolean;
    decode: boolean;
    scores: boolean;
    vision: boolean;
    long: boolean;
    graph: boolean;
    variants: boolean;
  };
  /** Only print the environment (--info). */
  info: boolean;
  /** Seconds after which no new length or part starts (--time-cap-s); Infinity without. */
  timeCapS: number;
  peak: { gflops?: number; gbps?: number };
  native: { file?: string; note?: string };
  local: LocalOptions;
  mha: MhaOptions;
  decode: DecodeOptions;
  scores: ScoreOptions;
  vision: VisionBenchOptions;
  long: LongOptions;
  graph: GraphBenchOptions;
  variants: VariantOptions;
}

export function parseArgs(args: readonly string[]): Options {
  const value = (name: string) => {
    const at = args.indexOf(name);
    if (at >= 0 && at + 1 >= args.length) throw new Error(`${name} needs a value`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const quick = args.includes('--quick');
  const runs = Number(value('--runs') ?? (quick ? 3 : 5));
  const only = value('--only');
  const parts = ['sdpa', 'local', 'mha', 'decode', 'scores', 'long', 'graph', 'vision', 'variants'];
  if (only !== undefined && !parts.includes(only)) throw new Error(`--only takes ${parts.join(', ')}, not ${only}`);
  const policy = { warmup: 1, runs, minRuns: Math.min(runs, 3), budgetS: quick ? 6 : 20 };
  const maxRunS = Number(value('--max-run-s') ?? 150);
  const positive = (name: string, env: string) => {
    const text = value(name) ?? process.env[env];
    if (text === undefined || text === '') return undefined;
    const n = Number(text);
    if (!(n > 0)) throw new Error(`${name} (or ${env}) takes a positive number, not ${text}`);
    return n;
  };
  const list = (name: string, quickDefault: string, fullDefault: string) =>
    (value(name) ?? (quick ? quickDefault : fullDefault)).split(',').map(Number);
  return {
    parts: {
      sdpa: (only ?? 'sdpa') === 'sdpa',
      local: (only ?? 'local') === 'local',
      mha: (only ?? 'mha') === 'mha',
      decode: (only ?? 'decode') === 'decode',
      scores: (only ?? 'scores') === 'scores',
      vision: (only ?? 'vision') === 'vision',
      long: (only ?? 'long') === 'long',
      graph: (only ?? 'graph') === 'graph',
      variants: (only ?? 'variants') === 'variants',
    },
    local: {
      policy,
      maxRunS,
      windowLengths: list('--window-lengths', '1024,4096', '1024,4096,16384'),
      mapSizes: list('--maps', '64', '64,128'),
    },
    mha: {
      policy,
      lengths: list('--mha-lengths', '128,256', '512,1024') as [number, number],
      referenceMaxMacs: Number(value('--mha-ref-max-macs') ?? 4e9),
    },
    info: args.includes('--info'),
    timeCapS: Number(value('--time-cap-s') ?? Infinity),
    peak: {
      gflops: positive('--peak-gflops', 'WEBGPU_ATTENTION_PEAK_GFLOPS'),
      gbps: positive('--peak-gbps', 'WEBGPU_ATTENTION_PEAK_GBPS'),
    },
    native: { file: value('--native-ceiling'), note: value('--native-ceiling-note') },
    decode: {
      policy,
      maxRunS,
      ortTable: !args.includes('--no-ort'),
      deadline: Infinity,
      lengths: list('--decode-lengths', '1024,8192', '1024,8192,32768'),
      prefillLengths: list('--prefill-lengths', '128,256', '512,4096'),
      prefillMaxRunS: Number(value('--prefill-max-run-s') ?? 600),
    },
    scores: { policy, lengths: list('--score-lengths', '256', '512') },
    vision: { policy, quick },
    long: {
      policy,
      maxRunS,
      lengths: list('--long-lengths', '1024,4096', '1024,16384'),
      rank: Number(value('--long-rank') ?? 256),
    },
    graph: { policy, edges: Number(value('--graph-edges') ?? (quick ? 20_000 : 100_000)) },
    variants: { policy, lengths: list('--variant-lengths', '512', '1024') },
    quick,
    lengths: (value('--lengths') ?? (quick ? '256,1024' : '256,1024,4096')).split(',').map(Number),
    policy,
    cpuMax: Number(value('--cpu-max') ?? 1024),
    maxRunS,
    ort: !args.includes('--no-ort'),
    json: value('--json') ?? null,
  };
}
