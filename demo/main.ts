/**
 * The attention explorer (`npm start`; `npm run build:demo` for a static site). One WebGPU context
 * for the whole page; each section mounts itself into its `<section>` of index.html and runs when
 * asked (or, for the pictures, when first scrolled into view; `?autorun=0` turns that off).
 */
import './core/hook';
import { h, messageOf } from './core/dom';
import { acquireGpu, describeAdapter, type Attention } from './core/gpu';
import { mountAttentionMap } from './sections/attention-map';
import { mountBenchmark } from './sections/benchmark';
import { mountFallback } from './sections/fallback';
import { mountGraph } from './sections/graph';
import { mountPlayground } from './sections/playground';
import { mountRollout } from './sections/rollout';
import { mountVision } from './sections/vision';

type Mount = (body: HTMLElement, attn: Attention | null, autorun: boolean) => void;

const SECTIONS: Array<[string, Mount]> = [
  ['playground', mountPlayground],
  ['attention-map', mountAttentionMap],
  ['vision', mountVision],
  ['rollout', mountRollout],
  ['graph', mountGraph],
  ['benchmark', mountBenchmark],
];

async function main(): Promise<void> {
  const autorun = new URLSearchParams(location.search).get('autorun') !== '0';
  const device = document.querySelector<HTMLElement>('#device')!;
  const gpu = await acquireGpu();
  window.__demo.gpu = gpu.attn !== null;
  if (gpu.attn) {
    const { name, features } = describeAdapter(gpu.attn);
    device.dataset.state = 'ready';
    device.textContent = `WebGPU: ${name} (${features.length ? features.join(', ') : 'no optional features'})`;
  } else {
    device.dataset.state = 'unsupported';
    device.replaceChildren(
      h('strong', {}, 'No WebGPU here. '),
      gpu.reason,
      ' ',
      h('a', { href: '#without-webgpu' }, 'What still works'),
    );
  }
  const all: Array<[string, Mount]> = [...SECTIONS, ['without-webgpu', (body) => mountFallback(body, gpu)]];
  for (const [id, mount] of all) {
    const body = document.querySelector<HTMLElement>(`#${id} .body`)!;
    try {
      mount(body, gpu.attn, autorun);
    } catch (e) {
      console.error(e);
      body.append(h('p', { class: 'status', 'data-state': 'error' }, `This section failed to start: ${messageOf(e)}`));
    }
  }
  document.body.dataset.ready = 'true';
}

void main();
