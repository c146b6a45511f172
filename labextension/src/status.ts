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
import { requestAPI } from './request';
import {
  Row,
  StatusLabel,
  TableSection,
  statusLabel,
  statusSections,
  unavailableLabel
} from './statusText';

/** A titled section of the panel holding `key: value` rows. */
function rowsSection(title: string, rows: Row[]): HTMLElement {
  const node = h('section', 'neira-panel-section');
  node.append(h('h3', 'neira-panel-heading', title));
  const list = h('dl', 'neira-panel-rows');
  for (const [key, value] of rows) list.append(h('dt', '', key), h('dd', '', value));
  node.append(list);
  return node;
}

/** A titled section holding a table; `empty` is shown instead when there are no rows. */
function tableSection({ title, columns, rows, empty }: TableSection): HTMLElement {
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
  node.replaceChildren(
    ...statusSections(status).map(s =>
      s.kind === 'rows' ? rowsSection(s.title, s.rows) : tableSection(s)
    )
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
      this.label(unavailableLabel(error instanceof Error ? error.message : String(error)));
    }
  }

  private display(status: StatusDocument): void {
    this.last = status;
    this.node.dataset.route = status.route.backend;
    this.node.dataset.pressure = status.memory.level;
    this.label(statusLabel(status));
  }

  private label({ text, title, ariaLabel }: StatusLabel): void {
    this.node.textContent = text;
    this.node.title = title;
    this.node.setAttribute('aria-label', ariaLabel);
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
