/**
 * The neira status item and its panel.
 *
 * `StatusItem` polls `neira/api/status` and shows the live model, the route,
 * free memory with the pressure level, and the queue. It is a real button:
 * a click (or Enter / Space) opens `StatusPanel` in a dialog, which lists
 * everything the status document holds: models, route, queue, memory
 * readings and the recent route switches. All server text is set with
 * `textContent`.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { StatusDocument } from './protocol';
import { h } from './recorder/elements';
import { formatClock, formatMiB, memoryLabel, requestAPI } from './request';

/** Switches shown in the panel, newest first. */
const RECENT_SWITCHES = 10;

/** A titled section of the panel holding `key: value` rows. */
function section(title: string, rows: Array<[string, string]>): HTMLElement {
  const node = h('section', 'neira-panel-section');
  node.append(h('h3', 'neira-panel-heading', title));
  const list = h('dl', 'neira-panel-rows');
  for (const [key, value] of rows) list.append(h('dt', '', key), h('dd', '', value));
  node.append(list);
  return node;
}

/** A titled section holding a table; `empty` is shown instead when there are no rows. */
function table(title: string, columns: string[], rows: string[][], empty: string): HTMLElement {
  const node = h('section', 'neira-panel-section');
  node.append(h('h3', 'neira-panel-heading', title));
  if (rows.length === 0) {
    node.append(h('p', 'neira-panel-empty', empty));
    return node;
  }
  const grid = h('table', 'neira-panel-table');
  const head = h('tr');
  for (const column of columns) head.append(h('th', '', column));
  grid.append(head);
  for (const row of rows) {
    const line = h('tr');
    for (const cell of row) line.append(h('td', '', cell));
    grid.append(line);
  }
  node.append(grid);
  return node;
}

/** The status document as sections: route, models, memory, queue, switches, server. */
export function renderStatus(node: HTMLElement, status: StatusDocument): void {
  const route = status.route;
  const memory = status.memory;
  const queue = status.queue;
  node.replaceChildren(
    section('Route', [
      ['backend', route.backend],
      ['model', route.model ?? 'no model'],
      ['why', route.reason],
      ['since', formatClock(route.since)]
    ]),
    table(
      'Models',
      ['role', 'name', 'state', 'device', 'size'],
      status.models.map(m => [
        m.role,
        m.name,
        m.error ? `${m.state}: ${m.error}` : m.state,
        m.device,
        m.memory_bytes ? formatMiB(m.memory_bytes / 2 ** 20) : '-'
      ]),
      'No models configured.'
    ),
    section('Memory', [
      ['pressure', memory.level],
      ['free', formatMiB(memory.free_mib)],
      ['why', memory.reason],
      ['source', memory.source],
      ...memory.readings.map((r): [string, string] => [
        r.device,
        `${r.name}: ${formatMiB(r.free_mib)} free of ${formatMiB(r.total_mib)}`
      ]),
      ...(memory.error ? [['error', memory.error] as [string, string]] : [])
    ]),
    section('Queue', [
      ['running', String(queue.running)],
      ['waiting', `${queue.depth} of ${queue.capacity}`],
      ['per user', queue.per_user ? String(queue.per_user) : 'no cap'],
      ...Object.entries(queue.lanes).map(([lane, l]): [string, string] => [
        `lane ${lane}`,
        `${l.running} running, ${l.queued} queued`
      ])
    ]),
    table(
      'Recent route switches',
      ['time', 'from', 'to', 'why'],
      status.switches
        .slice(-RECENT_SWITCHES)
        .reverse()
        .map(s => [formatClock(s.time), s.from, s.to, s.reason]),
      'No route switches since the server started.'
    ),
    section('Server', [
      ['version', `neira ${status.version}${status.demo ? ' (demo models)' : ''}`],
      ['LLM', status.llm_enabled ? 'enabled' : 'disabled'],
      ...status.notes.map((note): [string, string] => ['note', note])
    ])
  );
}

/** The panel's body: the status document, refreshed while the panel is open. */
export class StatusPanel extends Widget {
  private timer: number | null = null;

  constructor(status: StatusDocument, intervalSeconds: number) {
    super();
    this.addClass('neira-status-panel');
    renderStatus(this.node, status);
    this.timer = window.setInterval(() => void this.refresh(), intervalSeconds * 1000);
  }

  async refresh(): Promise<void> {
    try {
      renderStatus(this.node, await requestAPI<StatusDocument>('status'));
    } catch {
      // keep the last document; the status item shows that the server is unreachable
    }
  }

  dispose(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    super.dispose();
  }
}

/** The status item: model, route, memory, queue; opens the panel. */
export class StatusItem extends Widget {
  private timer: number | null = null;
  private last: StatusDocument | null = null;

  constructor(private intervalSeconds: number) {
    super({ node: document.createElement('button') });
    this.addClass('neira-status');
    const button = this.node as HTMLButtonElement;
    button.type = 'button';
    button.textContent = 'neira: …';
    button.addEventListener('click', () => void this.openPanel());
  }

  setInterval(seconds: number): void {
    this.intervalSeconds = seconds;
    this.start();
  }

  start(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), this.intervalSeconds * 1000);
  }

  dispose(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    try {
      this.display(await requestAPI<StatusDocument>('status'));
    } catch (error) {
      this.last = null;
      this.node.dataset.route = 'degraded';
      this.node.textContent = 'neira: unavailable';
      this.node.title = error instanceof Error ? error.message : String(error);
      this.node.setAttribute('aria-label', `neira unavailable: ${this.node.title}`);
    }
  }

  private display(status: StatusDocument): void {
    this.last = status;
    const route = status.route.backend;
    const model = status.route.model ?? 'no model';
    const memory = memoryLabel(status.memory);
    this.node.dataset.route = route;
    this.node.dataset.pressure = status.memory.level;
    this.node.textContent = `neira: ${model} · ${route} · ${memory} · ${status.queue.depth} queued`;
    this.node.title = `${status.route.reason}\nClick for models, memory, queue and route switches.`;
    this.node.setAttribute(
      'aria-label',
      `neira status: model ${model}, route ${route}, memory ${memory}, ` +
        `${status.queue.depth} queued. Open the status panel.`
    );
  }

  /** Open the panel with the latest status (fetched now if there is none yet). */
  async openPanel(): Promise<void> {
    let status = this.last;
    if (status === null) {
      try {
        status = await requestAPI<StatusDocument>('status');
      } catch (error) {
        await showDialog({
          title: 'neira status',
          body: error instanceof Error ? error.message : String(error),
          buttons: [Dialog.okButton({ label: 'Close' })]
        });
        return;
      }
    }
    await showDialog({
      title: 'neira status',
      body: new StatusPanel(status, this.intervalSeconds),
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
  }
}
