// One send in a dialog: its fields, the failover attempts of a logical send, and its history (registered,
// reported by the vendor, queried, deadline passed), each entry with the send's state after it.

import { getJson } from './api.js';
import { el, number } from './dom.js';
import { t } from './i18n.js';
import { mediumText, statusCell, typeCell } from './daylog.js';

export class SendView {
  /** `dialog` is the <dialog>; `money(n)` writes an amount; `fail(error)` reports an error. */
  constructor(dialog, { money, fail }) {
    this.dialog = dialog;
    this.money = money;
    this.fail = fail;
    this.body = dialog.querySelector('.send-body');
    dialog.querySelector('.send-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('click', (event) => {
      const leg = event.target.closest('[data-open-send]');
      if (leg) this.open(leg.dataset.openSend);
      else if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
  }

  async open(sendId) {
    this.asked = sendId; // only the last send asked for is shown, whichever answer comes first
    let send;
    try {
      send = await getJson(`/v1/sends/${encodeURIComponent(sendId)}`);
    } catch (error) {
      if (this.asked === sendId) this.fail(error);
      return;
    }
    if (this.asked !== sendId) return;
    this.dialog.querySelector('.send-title').textContent = t('send.title', { id: send.send_id });
    this.dialog.dataset.sendId = send.send_id;
    this.body.replaceChildren(this.fields(send), this.legs(send), this.history(send));
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector('.send-close').focus();
  }

  fields(send) {
    const none = t('send.none');
    const price = send.vendor_price ? `${send.vendor_price} ${send.vendor_price_unit || ''}`.trim() : none;
    const rows = [
      [t('day.status'), statusCell(send)],
      send.reason ? [t('send.reason'), `${send.code} · ${send.reason}`] : null,
      [t('day.type'), typeCell(send)],
      [t('day.medium'), mediumText(send)],
      [t('send.vendor'), send.vendor || none],
      [t('day.contact'), send.contact],
      [t('send.requested_at'), send.requested_at],
      [t('send.vendor_message_id'), send.vendor_message_id || none],
      [t('day.cost'), number(send.cost, this.money(send.cost))],
      [t('send.vendor_price'), price],
      send.fallback_of
        ? [t('send.fallback_of'), el('button', { type: 'button', class: 'link', dataset: { openSend: send.fallback_of } },
          send.fallback_of)]
        : null,
    ].filter(Boolean);
    return el('dl', { class: 'fields' }, rows.map(([name, value]) => [el('dt', {}, name), el('dd', {}, value)]));
  }

  legs(send) {
    if (!send.legs || send.legs.length === 0) return null;
    const head = [t('send.leg'), t('day.medium'), t('send.vendor'), t('day.status'), t('send.code'), t('day.cost')];
    const rows = send.legs.map((leg) => el('tr', {},
      el('td', {}, leg.send_id === send.send_id ? leg.send_id
        : el('button', { type: 'button', class: 'link', dataset: { openSend: leg.send_id } }, leg.send_id)),
      el('td', {}, t(`medium.${leg.medium}`)),
      el('td', {}, leg.vendor || t('send.none')),
      el('td', {}, el('span', { class: `status s-${leg.status}` }, t(`status.${leg.status}`))),
      el('td', {}, leg.code || t('send.none')),
      el('td', { class: 'num' }, number(leg.cost, this.money(leg.cost)))));
    const table = el('table', {},
      el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows));
    return el('section', { class: 'legs', dataset: { testid: 'send-legs' } },
      el('h3', {}, t('send.legs')), el('div', { class: 'scroll' }, table));
  }

  history(send) {
    return el('section', { class: 'history' },
      el('h3', {}, t('send.history')),
      el('ol', { class: 'timeline', dataset: { testid: 'send-history' } }, send.history.map((h) => {
        const vendor = [h.vendor_status, h.vendor_code].filter(Boolean).join(' ');
        return el('li', { dataset: { source: h.source } },
          el('time', { datetime: h.at }, h.at.replace('T', ' ')),
          el('span', { class: 'event' }, t(`source.${h.source}`)),
          el('span', { class: `status s-${h.status}` }, t(`status.${h.status}`)),
          h.code ? el('span', { class: 'code' }, h.code) : null,
          vendor ? el('span', { class: 'vendor-said' }, t('send.history.vendor', { what: vendor })) : null);
      })));
  }
}
