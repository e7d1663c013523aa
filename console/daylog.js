// One day's detailed log: time, type, status (with the "?" that says why), delivery, contact and cost, newest
// first, a page at a time (keyset paging: "show more" asks for the rows after the last one shown). Rows are
// appended, never re-drawn, and each is a grid row of its own that the browser lays out and paints only when it
// is on screen (content-visibility), so that the 10th page of a busy day costs what the first did: a table's rows
// are laid out all together, and a 10,000-row table took twice as long per page as a 1,000-row one.

import { getJson, query } from './api.js';
import { el, number } from './dom.js';
import * as i18n from './i18n.js';

const { t } = i18n;

/** Rows per page: the most the API gives at once. */
export const pageSize = 1000;

/** Statuses that carry a reason, and so a "?". */
const explained = new Set(['failed', 'excluded', 'uncertain']);

let tipCount = 0;

/** A status as text (never by colour alone) with, when it has a reason, the "?" and its tooltip. */
export function statusCell(row) {
  const cell = [el('span', { class: `status s-${row.status}` }, t(`status.${row.status}`))];
  if (explained.has(row.status) && row.code) {
    tipCount += 1;
    const id = `tip-${tipCount}`;
    const lines = [
      el('strong', {}, row.code),
      row.reason ? el('span', { class: 'tip-reason' }, row.reason) : null,
      row.description ? el('span', { class: 'tip-description' }, row.description) : null,
      row.category ? el('span', { class: 'tip-category' }, t(`category.${row.category}`)) : null,
    ];
    cell.push(el('span', { class: 'hint' },
      el('button', {
        type: 'button', class: 'hint-button', dataset: { testid: 'reason-hint' }, 'aria-describedby': id,
        'aria-label': t('hint.label', { status: t(`status.${row.status}`) }),
      }, '?'),
      el('span', { role: 'tooltip', id, class: 'tip' }, lines)));
  }
  return cell;
}

/** "Alimtalk → LMS" for a logical send with failover legs, else the medium. */
export function mediumText(row) {
  if (!row.legs || row.legs.length < 2) return t(`medium.${row.medium}`);
  return `${row.legs.map((leg) => t(`medium.${leg.medium}`)).join(' → ')} (${t('day.failover')})`;
}

/** The type of a send, with the campaign's or message's name (or id) when it has one. */
export function typeCell(row) {
  const name = row.source_name || row.source_id;
  return [t(`type.${row.type}`), name ? el('span', { class: 'source-name' }, name) : null];
}

export class DayLog {
  /**
   * `root` is the day log's section; `openSend(id)` shows one send; `money(n)` writes an amount in the
   * summary's currency; `fail(error)` reports an error.
   */
  constructor(root, { openSend, money, fail }) {
    this.root = root;
    this.openSend = openSend;
    this.money = money;
    this.fail = fail;
    this.body = root.querySelector('.log-body');
    this.more = root.querySelector('[data-testid="more"]');
    this.status = root.querySelector('.day-count');
    this.generation = 0;
    this.more.addEventListener('click', () => this.nextPage());
    this.body.addEventListener('click', (event) => {
      if (event.target.closest('.hint')) return; // the "?" explains; it does not open the send
      const row = event.target.closest('[data-send-id]');
      if (row) this.openSend(row.dataset.sendId);
    });
  }

  /** Shows `date` with the month's filter (`scope`: {campaign} or {one_time}) and the day's own filters. */
  async open(date, scope, filters) {
    this.generation += 1;
    this.date = date;
    this.params = { ...scope, ...filters, limit: pageSize };
    this.cursor = null;
    this.shown = 0;
    this.body.replaceChildren();
    this.root.hidden = false;
    this.root.querySelector('.day-title').textContent = t('day.title', { date: i18n.day(date) });
    this.root.dataset.date = date;
    delete this.root.dataset.rows;
    delete this.root.dataset.complete;
    await this.load('deliveryd:day');
  }

  /** The rows after the last one shown. */
  async nextPage() {
    if (this.cursor) await this.load('deliveryd:more');
  }

  async load(measure) {
    const generation = this.generation;
    const started = performance.now();
    this.more.disabled = true;
    this.root.setAttribute('aria-busy', 'true');
    try {
      const page = await getJson(`/v1/log/day/${this.date}?${query({ ...this.params, cursor: this.cursor })}`);
      if (generation !== this.generation) return; // another day or filter was asked for meanwhile
      this.append(page.rows);
      this.cursor = page.next_cursor;
      this.showState();
      // For tests and scripts that drive the page: how many rows are shown, and whether that is the whole day.
      this.root.dataset.rows = String(this.shown);
      this.root.dataset.complete = String(!this.cursor);
      // After the next paint: the time a person waits until the rows are on screen (docs/performance.md).
      requestAnimationFrame(() => setTimeout(() => {
        performance.measure(measure, { start: started, detail: { date: this.date, rows: page.rows.length } });
      }, 0));
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    } finally {
      if (generation === this.generation) {
        this.more.disabled = !this.cursor;
        this.root.removeAttribute('aria-busy');
      }
    }
  }

  append(rows) {
    const fragment = document.createDocumentFragment();
    for (const row of rows) {
      fragment.append(el('div', { role: 'row', class: 'log-row', dataset: { testid: 'row', sendId: row.send_id } },
        el('span', { role: 'cell', class: 'time' }, el('button', { type: 'button', class: 'link', title: row.send_id },
          row.time.slice(11, 19))),
        el('span', { role: 'cell', class: 'type' }, typeCell(row)),
        el('span', { role: 'cell', class: 'status-cell' }, statusCell(row)),
        el('span', { role: 'cell' }, mediumText(row)),
        el('span', { role: 'cell', class: 'contact' }, row.contact),
        el('span', { role: 'cell', class: 'num' }, number(row.cost, this.money(row.cost)))));
    }
    this.body.append(fragment);
    this.shown += rows.length;
  }

  showState() {
    this.more.hidden = !this.cursor;
    const parts = [t('day.count', { shown: i18n.count(this.shown) })];
    if (!this.cursor) parts.push(this.shown === 0 ? t('day.empty') : t('day.end'));
    this.status.textContent = parts.join(' · ');
  }

  /** Hides the day log. */
  close() {
    this.generation += 1;
    this.date = null;
    this.root.hidden = true;
    this.body.replaceChildren();
    for (const name of ['date', 'rows', 'complete']) delete this.root.dataset[name];
  }
}
