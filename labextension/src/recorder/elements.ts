/**
 * Small DOM building blocks shared by the Recorder widget and the lab
 * extension (the Dictate indicator, the status panel): an element factory,
 * a level meter and an elapsed-time clock.
 *
 * Text is always set with `textContent`: transcript and model text is untrusted.
 */

/** An element with a class and text. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Elapsed milliseconds as "m:ss.s". */
export function formatTime(ms: number): string {
  const seconds = ms / 1000;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${(seconds % 60).toFixed(1).padStart(4, '0')}`;
}

/** A microphone level meter (`role="meter"`, 0-100 in `aria-valuenow`). */
export interface LevelMeter {
  readonly node: HTMLDivElement;
  /** Shows the RMS level of a chunk on a perceptual (square-root) scale. */
  set(rms: number): void;
  reset(): void;
}

/** A level meter whose fill element has the class `${className}-fill`. */
export function levelMeter(className: string): LevelMeter {
  const node = h('div', className);
  node.setAttribute('role', 'meter');
  node.setAttribute('aria-label', 'Microphone level');
  node.setAttribute('aria-valuemin', '0');
  node.setAttribute('aria-valuemax', '100');
  const fill = h('div', `${className}-fill`);
  node.append(fill);
  const show = (percent: number): void => {
    fill.style.width = `${percent}%`;
    node.setAttribute('aria-valuenow', String(percent));
    node.dataset.loud = String(percent >= 90);
  };
  show(0);
  return {
    node,
    set: rms => show(Math.min(100, Math.round(Math.sqrt(rms) * 250))),
    reset: () => show(0)
  };
}

/** An elapsed-time display (`role="timer"`). */
export interface ElapsedClock {
  readonly node: HTMLSpanElement;
  /** Counts up from 0:00.0. */
  start(): void;
  /** Freezes the time shown. */
  stop(): void;
}

/** An elapsed-time clock, updated every 100 ms while it runs. */
export function elapsedClock(className: string): ElapsedClock {
  const node = h('span', className, formatTime(0));
  node.setAttribute('role', 'timer');
  node.setAttribute('aria-label', 'Elapsed recording time');
  let timer: number | null = null;
  const stop = (): void => {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  };
  const start = (): void => {
    stop();
    const started = performance.now();
    node.textContent = formatTime(0);
    timer = window.setInterval(() => {
      node.textContent = formatTime(performance.now() - started);
    }, 100);
  };
  return { node, start, stop };
}
