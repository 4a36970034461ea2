/** Small DOM helpers: elements, labelled controls and a status line every section shares. */

type Props = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/**
 * `h('button', { type: 'button', 'data-x': 1 }, 'Run')`: attributes are set as attributes
 * (`false` and `undefined` leave them out); children are nodes or text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, props: Props = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined && value !== false) el.setAttribute(name, String(value));
  }
  return el;
}

/** A `<label>` holding its text and control, so a click on the text focuses the control. */
export function field(text: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h('label', { class: 'field', title: hint }, h('span', {}, text), control);
}

/** A `<select>` of `[value, label]` pairs. */
export function choice(name: string, options: Array<[string, string]>, value: string): HTMLSelectElement {
  const el = h('select', { name });
  for (const [v, label] of options) el.append(new Option(label, v, v === value, v === value));
  return el;
}

/** An `<input type=number>` with bounds. */
export function num(name: string, value: number, min: number, max: number, step = 1): HTMLInputElement {
  return h('input', { name, type: 'number', value, min, max, step, inputmode: 'numeric' });
}

/** A checkbox. */
export function check(name: string, checked: boolean): HTMLInputElement {
  return h('input', { name, type: 'checkbox', checked });
}

/** A button (type=button so it never submits a form by accident). */
export function button(text: string, onClick: () => void, props: Props = {}): HTMLButtonElement {
  const el = h('button', { type: 'button', ...props }, text);
  el.addEventListener('click', onClick);
  return el;
}

/** The value of an `<input type=number>` clamped to its bounds (a visitor may type anything). */
export function intOf(input: HTMLInputElement): number {
  const min = Number(input.min || -Infinity);
  const max = Number(input.max || Infinity);
  const v = Math.round(Number(input.value));
  const clamped = Math.min(max, Math.max(min, Number.isFinite(v) ? v : min));
  if (String(clamped) !== input.value) input.value = String(clamped);
  return clamped;
}

export type State = 'idle' | 'compiling' | 'running' | 'done' | 'error' | 'unsupported' | 'stopped';

/**
 * A section's status line: `data-state` says where it is (the tests wait on it), and `compiling`
 * shows a spinner while SwiftShader or a driver builds pipelines.
 */
export class Status {
  readonly el: HTMLOutputElement;

  constructor(id: string) {
    this.el = h('output', { id, class: 'status', 'data-state': 'idle', 'aria-live': 'polite' });
    this.el.textContent = '—';
  }

  set(state: State, text: string, data: Record<string, string | number> = {}): void {
    this.el.dataset.state = state;
    for (const key of Object.keys(this.el.dataset)) if (key !== 'state') delete this.el.dataset[key];
    for (const [k, v] of Object.entries(data)) this.el.dataset[k] = String(v);
    this.el.textContent = text;
  }

  get state(): State {
    return this.el.dataset.state as State;
  }
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Formats a number with `digits` significant digits, small ones in exponent form. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

/** Runs `start` once, when `el` first comes into view. */
export function whenVisible(el: Element, start: () => void): void {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      start();
    }
  });
  observer.observe(el);
}
