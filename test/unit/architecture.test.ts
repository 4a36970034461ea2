/**
 * The layering of src/ (docs/architecture.md), read from the import statements of every file:
 * the contract imports neither path, the CPU reference stands alone (no GPU machinery), an op folder
 * uses other families only through their kernel modules (plan, encode, operands), nothing imports
 * back up, there are no cycles, and no file grows past 300 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of a file (static, re-export and dynamic), resolved to a path under the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1]);
  return specifiers.map((s) => {
    const path = resolve(dirname(file), s.replace(/\?raw$/, ''));
    return path.endsWith('.wgsl') || path.endsWith('.js') ? path : `${path}.ts`;
  });
}

const files = listFiles(SRC).filter((f) => !f.endsWith('.d.ts'));
const graph = new Map(files.map((f) => [rel(f), importsOf(f).map(rel)]));

function rel(path: string): string {
  return relative(SRC, path).split('\\').join('/');
}

/** The module's layer: contract, reference, gpu, ops/<family>, or the file itself at the top. */
function layerOf(module: string): string {
  const parts = module.split('/');
  if (parts[0] === 'ops') return `ops/${parts[1]}`;
  return parts.length > 1 ? parts[0] : module;
}

/** What each layer may import besides itself. */
const ALLOWED: Record<string, (target: string) => boolean> = {
  contract: (t) => t === 'errors.ts',
  reference: (t) => t === 'errors.ts' || layerOf(t) === 'contract',
  gpu: (t) => t === 'errors.ts' || t === 'tensor.ts',
  // read() of an f16 tensor widens with the contract's codec (pure, shared with the reference).
  'tensor.ts': (t) => t === 'errors.ts' || t === 'contract/f16.ts',
  'errors.ts': () => false,
  'shaders.ts': (t) => t.startsWith('gpu/') || t.startsWith('../shaders/'),
};

/** Modules of an op family that another family may use: its kernels' plans, encoders and operands. */
const KERNEL_MODULE = /^ops\/[^/]+\/(plan|plan-[a-z-]+|encode|encode-[a-z-]+|operands)\.ts$/;

function opsMayImport(target: string): boolean {
  const layer = layerOf(target);
  if (['contract', 'gpu'].includes(layer) || ['errors.ts', 'tensor.ts', 'shaders.ts'].includes(target)) return true;
  return layer.startsWith('ops/') && KERNEL_MODULE.test(target);
}

function violations(): string[] {
  const found: string[] = [];
  for (const [module, targets] of graph) {
    const layer = layerOf(module);
    for (const target of targets) {
      if (layerOf(target) === layer) continue;
      const ok = layer.startsWith('ops/') ? opsMayImport(target) : (ALLOWED[layer]?.(target) ?? true);
      if (!ok) found.push(`${module} → ${target}`);
    }
  }
  return found;
}

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      found.push([...stack.slice(stack.indexOf(m)), m]);
      return;
    }
    state.set(m, 'open');
    stack.push(m);
    for (const t of graph.get(m) ?? []) if (graph.has(t)) visit(t);
    stack.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) visit(m);
  return found;
}

describe('src/ layering (docs/architecture.md)', () => {
  it('reads every source file and resolves every relative import', () => {
    expect(graph.size).toBeGreaterThan(40);
    const missing = [...graph.values()]
      .flat()
      .filter((t) => !t.startsWith('../') && !graph.has(t) && !t.endsWith('.d.ts'));
    expect(missing).toEqual([]);
  });

  it('has no import that crosses the layers the wrong way', () => {
    expect(violations()).toEqual([]);
  });

  it('keeps the CPU reference free of the GPU path', () => {
    const reachable = new Set<string>();
    const walk = (m: string) => {
      if (reachable.has(m)) return;
      reachable.add(m);
      for (const t of graph.get(m) ?? []) walk(t);
    };
    walk('reference/index.ts');
    expect([...reachable].filter((m) => /^(ops|gpu)\/|^(tensor|context|shaders)\.ts$/.test(m))).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles()).toEqual([]);
  });

  it('keeps every file at 300 lines or fewer', () => {
    const long = files
      .map((f) => [rel(f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  it('catches a wrong import (the rules can fail)', () => {
    graph.set('reference/bad.ts', ['ops/sdpa/sdpa.ts']);
    graph.set('ops/local/bad.ts', ['ops/sdpa/validate.ts']);
    graph.set('contract/bad.ts', ['contract/bad2.ts']);
    graph.set('contract/bad2.ts', ['contract/bad.ts']);
    try {
      expect(violations()).toEqual(['reference/bad.ts → ops/sdpa/sdpa.ts', 'ops/local/bad.ts → ops/sdpa/validate.ts']);
      expect(cycles()).toContainEqual(['contract/bad.ts', 'contract/bad2.ts', 'contract/bad.ts']);
    } finally {
      for (const m of ['reference/bad.ts', 'ops/local/bad.ts', 'contract/bad.ts', 'contract/bad2.ts']) graph.delete(m);
    }
  });
});
