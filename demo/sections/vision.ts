/**
 * Vision: the picture of vision-image.ts cut into 8 × 8 patches of 16 px. A patch's features (a
 * fixed random projection of its pixels, not a trained model) serve as its query and key; click a
 * patch to see its row of weights under global attention and under 2-D neighbourhood attention.
 * The CBAM half is vision-cbam.ts.
 */
import type { GpuTensor } from '../../src/index';
import { cpuCall, outputOf, type RefTensor } from '../core/cpu';
import { choice, field, fmt, h, messageOf, Status, whenVisible } from '../core/dom';
import { errorAgainst, firstRun, upload, type Attention } from '../core/gpu';
import { expose } from '../core/hook';
import { PatchMap } from './patch-map';
import { mountCbam } from './vision-cbam';
import { GRID, neighbourhoodMask, patchFeatures, pictureRgba, SIZE } from './vision-image';

const N = GRID * GRID;

/** The picture on a canvas (drawn once). */
export function pictureCanvas(): HTMLCanvasElement {
  const c = h('canvas', { width: SIZE, height: SIZE });
  const image = c.getContext('2d')!.createImageData(SIZE, SIZE);
  image.data.set(pictureRgba());
  c.getContext('2d')!.putImageData(image, 0, 0);
  return c;
}

export function mountVision(body: HTMLElement, attn: Attention | null, autorun: boolean): void {
  if (!attn) {
    body.append(h('p', { class: 'needs-gpu' }, 'Needs WebGPU: see “Without WebGPU” below.'));
    return;
  }
  const picture = pictureCanvas();
  const kernel = choice(
    'kernel',
    [
      ['3', '3 × 3'],
      ['5', '5 × 5'],
    ],
    '3',
  );
  const gain = choice(
    'gain',
    [
      ['2', 'soft'],
      ['3', 'medium'],
      ['4', 'sharp'],
    ],
    '3',
  );
  const status = new Status('vision-status');
  let weights: { global: Float32Array; local: Float32Array; mask: Uint8Array } | null = null;
  let selected = 13;
  const select = (p: number) => {
    selected = p;
    if (!weights) return;
    const w = weights;
    const globalRow = w.global.subarray(p * N, (p + 1) * N);
    const localRow = w.local.subarray(p * N, (p + 1) * N);
    globalMap.draw(p, globalRow);
    localMap.draw(p, localRow, (key) => w.mask[p * N + key] === 1);
    expose('sections', 'visionSelection', {
      selected: p,
      globalRow: Array.from(globalRow),
      localRow: Array.from(localRow),
    });
  };
  const globalMap = new PatchMap('vision-global', 'global attention (every patch)', picture, select);
  const localMap = new PatchMap('vision-local', 'neighbourhood attention (the outlined window)', picture, select);

  const run = h('button', { type: 'submit', class: 'primary', id: 'vision-run' }, 'Run');
  const go = async () => {
    run.disabled = true;
    const made: GpuTensor[] = [];
    try {
      const k = Number(kernel.value);
      const feats = patchFeatures(Number(gain.value));
      const q = upload(attn, feats);
      made.push(q);
      const mask = neighbourhoodMask(k);
      const gmask = attn.mask(mask.data, mask.shape);
      const weightsOf = (m?: typeof gmask) =>
        firstRun(
          attn,
          status,
          'patch attention',
          () => attn.sdpaNaive(q, q, q, { scale: 1, returnWeights: true, ...(m ? { mask: m } : {}) }),
          async (o) => {
            const r = o as { output: GpuTensor; weights: GpuTensor };
            return { weights: await r.weights.read(), output: await r.output.read() };
          },
        );
      const global = (await weightsOf()).value;
      const local = (await weightsOf(gmask)).value;
      gmask.destroy();
      // The same neighbourhood through the library's own kernel: its output must equal the masked one's.
      const grid = { data: feats.data, shape: [1, 1, GRID, GRID, feats.shape[3]] };
      const q5 = upload(attn, grid);
      made.push(q5);
      const nat = await firstRun(
        attn,
        status,
        'neighborhood2d',
        () => attn.neighborhood2d(q5, q5, q5, { kernel: k, scale: 1 }),
        (o) => (o as GpuTensor).read(),
      );
      status.set('running', 'float64 reference (in a worker)…');
      const refGlobal = await cpuCall<{ weights: RefTensor }>('sdpa', feats, feats, feats, {
        scale: 1,
        returnWeights: true,
      });
      const refLocal = await cpuCall<RefTensor>('neighborhood2d', grid, grid, grid, { kernel: k, scale: 1 });
      const eGlobal = errorAgainst(global.weights, refGlobal.result.weights.data);
      const eLocal = errorAgainst(nat.value, outputOf(refLocal.result).data);
      const same = errorAgainst(nat.value, local.output);
      weights = { global: global.weights, local: local.weights, mask: mask.data };
      select(selected);
      const maxErr = Math.max(eGlobal.maxErr, eLocal.maxErr);
      const ok = eGlobal.ok && eLocal.ok && same.ok;
      status.set(
        'done',
        `global weights and neighborhood2d's output match the float64 reference to ${fmt(maxErr)}; ` +
          `neighborhood2d's output equals the masked map's to ${fmt(same.maxErr)} (${ok ? 'all within' : 'OUTSIDE'} tolerance)`,
        { maxErr, ok: String(ok) },
      );
      expose('sections', 'vision', { kernel: k, gain: Number(gain.value), maxErr, ok, sameAsMasked: same.maxErr });
    } catch (e) {
      status.set('error', messageOf(e));
    } finally {
      for (const t of made) t.destroy();
      run.disabled = false;
    }
  };
  const form = h('form', { class: 'controls' }, field('neighbourhood', kernel), field('sharpness', gain), run);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!run.disabled) void go().then(runCbam);
  });
  const cbam = h('div', { class: 'cbam' });
  body.append(
    h(
      'p',
      { class: 'note' },
      'The picture is drawn by this page’s own code. Each patch’s query and key are the same vector: a fixed random projection of its pixels (half of them centred, for texture), scaled to one length. No model is trained, so a patch attends to the patches that look like it. Dimmed patches get little weight.',
    ),
    form,
    status.el,
    h('div', { class: 'row' }, globalMap.root, localMap.root),
    cbam,
  );
  const runCbam = mountCbam(cbam, attn, picture);
  if (autorun) whenVisible(body, () => void go().then(runCbam));
}
