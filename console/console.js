// The console: the seed's "External transmission history" screen on deliveryd's JSON API. A month, a filter (all,
// a campaign, a one-time message), the number of sends with count and cost per medium, a bar and a row per day,
// and a day's detailed log with the send behind each row. What is shown is in the URL's fragment
// (#month=2026-11&filter=campaign&source=cmp-1&day=2026-11-27), so that it can be bookmarked and the back button
// works; a contact searched for never goes there.

import { ApiError, Unreachable, download, forgetToken, getJson, hasToken, query, setTokenPrompt } from './api.js';
import { drawChart, stacked } from './chart.js';
import { DayLog } from './daylog.js';
import { byTestId, el, number } from './dom.js';
import * as i18n from './i18n.js';
import { SendView } from './sendview.js';

const { t } = i18n;
const statuses = ['pending', 'sent', 'failed', 'excluded', 'uncertain'];
const media = ['sms', 'lms', 'email', 'alimtalk'];

const state = {
  month: '', // YYYY-MM
  filter: 'all', // all | campaign | one_time
  source: '', // source_id when filtered
  day: '', // YYYY-MM-DD of the open day log, or ''
  summary: null,
  sources: [],
  generation: 0, // of the month shown: answers for an older one are dropped
  lastError: null,
  retry: null,
};

const $ = (selector) => document.querySelector(selector);

// ------------------------------------------------------------------------------------------------ the URL

function currentMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
}

function readFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const month = params.get('month');
  const filter = params.get('filter');
  const day = params.get('day');
  return {
    month: /^\d{4}-(0[1-9]|1[0-2])$/.test(month || '') ? month : currentMonth(),
    filter: ['campaign', 'one_time'].includes(filter) ? filter : 'all',
    source: params.get('source') || '',
    day: /^\d{4}-\d{2}-\d{2}$/.test(day || '') ? day : '',
  };
}

function writeFragment(replace) {
  const hash = query({
    month: state.month,
    filter: state.filter === 'all' ? '' : state.filter,
    source: state.filter === 'all' ? '' : state.source,
    day: state.day,
  });
  if (location.hash.slice(1) === hash) return;
  if (replace) history.replaceState(null, '', `#${hash}`);
  else history.pushState(null, '', `#${hash}`);
}

function scope() {
  return state.filter !== 'all' && state.source ? { [state.filter]: state.source } : {};
}

// ------------------------------------------------------------------------------------------------ messages

const banner = byTestId('error');

function showError(error, retry) {
  state.lastError = error;
  state.retry = retry || null;
  let text;
  if (error instanceof Unreachable) text = t('error.unreachable');
  else if (error instanceof ApiError && error.status === 410) text = t('error.gone', { month: state.month });
  else if (error instanceof ApiError && error.status === 503) text = t('error.busy');
  else if (error instanceof ApiError && error.status === 401) text = t('token.needed');
  else if (error instanceof ApiError && error.status === 403) text = t('error.forbidden', { detail: error.detail });
  else if (error instanceof ApiError && error.status === 400) text = t('error.bad', { detail: error.detail });
  else if (error instanceof ApiError) text = t('error.other', { status: error.status, detail: error.detail });
  else text = String(error);
  banner.querySelector('.banner-text').textContent = text;
  banner.dataset.status = error instanceof ApiError ? String(error.status) : 'unreachable';
  banner.querySelector('.retry').hidden = !state.retry;
  banner.hidden = false;
}

function clearError() {
  state.lastError = null;
  state.retry = null;
  banner.hidden = true;
  delete banner.dataset.status;
}

function fail(error) {
  if (error?.name === 'AbortError') return;
  showError(error, () => load());
}

// ------------------------------------------------------------------------------------------------ money

function money(amount) {
  return i18n.money(amount, state.summary?.currency || 'KRW');
}

// ------------------------------------------------------------------------------------------------ the month

function renderSources() {
  const select = $('#source');
  const field = $('.source-field');
  field.hidden = state.filter === 'all';
  if (state.filter === 'all') return;
  const mine = state.sources.filter((s) => s.type === state.filter);
  select.replaceChildren(...mine.map((s) => el('option', { value: s.source_id },
    t('source.option', { name: s.source_name || s.source_id, total: i18n.count(s.total) }))));
  if (mine.length === 0) select.append(el('option', { value: '', disabled: true }, t(`source.none.${state.filter}`)));
  select.value = state.source;
}

function renderSummary() {
  const s = state.summary;
  byTestId('total').replaceChildren(number(s.total, i18n.count(s.total)));
  byTestId('statuses').replaceChildren(...stacked.map((status) => el('li', { class: `status-count s-${status}` },
    el('span', { class: `status s-${status}` }, t(`status.${status}`)),
    number(s.by_status[status], i18n.count(s.by_status[status]), { dataset: { testid: `status-${status}` } }))));
  let totalCost = 0;
  $('.media tbody').replaceChildren(...media.map((m) => {
    const { count, cost } = s.by_medium[m];
    totalCost += cost;
    return el('tr', {},
      el('th', { scope: 'row' }, t(`medium.${m}`)),
      el('td', { class: 'num' }, number(count, i18n.count(count), { dataset: { testid: `medium-${m}-count` } })),
      el('td', { class: 'num' }, number(cost, money(cost), { dataset: { testid: `medium-${m}-cost` } })));
  }));
  $('.total-cost').replaceChildren(number(totalCost, money(totalCost), { dataset: { testid: 'cost-total' } }));
  const prices = Object.entries(s.vendor_prices || {});
  const vendorPrices = $('.vendor-prices');
  vendorPrices.hidden = prices.length === 0;
  vendorPrices.textContent = prices.length
    ? `${t('summary.vendor_prices')}: ${prices.map(([currency, amount]) => i18n.money(amount, currency)).join(', ')}`
    : '';
}

function renderDays() {
  const s = state.summary;
  const empty = s.total === 0;
  const emptyNote = $('.empty-month');
  emptyNote.hidden = !empty;
  emptyNote.textContent = empty ? t('empty', { month: i18n.monthName(state.month) }) : '';
  $('.month-view').hidden = empty;
  if (empty) return;
  drawChart($('.chart-host'), s.days, i18n.monthName(state.month), (date) => openDay(date));
  $('.legend').replaceChildren(...stacked.map((status) => el('span', { class: 'legend-item' },
    el('span', { class: `swatch bar-${status}`, 'aria-hidden': 'true' }), t(`status.${status}`))));
  $('.day-table thead tr').replaceChildren(el('th', { scope: 'col' }, t('days.date')),
    el('th', { scope: 'col', class: 'num' }, t('days.total')),
    ...stacked.map((status) => el('th', { scope: 'col', class: 'num' }, t(`status.${status}`))));
  $('.day-table tbody').replaceChildren(...s.days.filter((d) => d.total > 0).map((d) => el('tr',
    { class: d.date === state.day ? 'current' : undefined },
    el('th', { scope: 'row' }, el('button', {
      type: 'button', class: 'link', dataset: { testid: `day-${d.date}`, day: d.date },
      'aria-label': t('days.open', { date: d.date }),
    }, i18n.day(d.date))),
    el('td', { class: 'num' }, number(d.total, i18n.count(d.total))),
    ...stacked.map((status) => el('td', { class: 'num' }, number(d[status], i18n.count(d[status])))))));
}

function clearMonth() {
  state.summary = null;
  byTestId('total').replaceChildren(number(0, '–'));
  byTestId('statuses').replaceChildren();
  $('.media tbody').replaceChildren();
  $('.total-cost').replaceChildren();
  $('.vendor-prices').hidden = true;
  $('.month-view').hidden = true;
  $('.empty-month').hidden = true;
}

function setLoading(loading) {
  $('.loading').hidden = !loading;
  $('.summary').setAttribute('aria-busy', String(loading));
}

/** Loads the month, its sources and its summary for the filter, then the day log if one is open. */
async function load() {
  state.generation += 1;
  const generation = state.generation;
  const started = performance.now();
  clearError();
  setLoading(true);
  $('#month').value = state.month;
  $('#filter').value = state.filter;
  try {
    // Both at once when the summary's filter is already known; a guessed source is asked for again if wrong.
    const summaryOf = () => getJson(`/v1/log/summary?${query({ month: state.month, ...scope() })}`);
    const asked = state.source;
    let early = state.filter === 'all' || asked ? summaryOf() : null;
    early?.catch(() => {}); // awaited below, unless the sources fail first
    const sources = await getJson(`/v1/log/sources?${query({ month: state.month })}`);
    if (generation !== state.generation) return;
    state.sources = sources.sources;
    if (state.filter !== 'all') {
      const mine = state.sources.filter((s) => s.type === state.filter);
      if (!mine.some((s) => s.source_id === state.source)) state.source = mine[0]?.source_id || '';
      if (state.source !== asked) early = null;
      writeFragment(true);
    }
    renderSources();
    if (state.filter !== 'all' && !state.source) { // a filter without anything to show: nothing was sent that way
      clearMonth();
      dayLog.close();
      state.day = '';
      writeFragment(true);
      document.documentElement.dataset.shown = [state.month, state.filter, ''].join('|');
      return;
    }
    const summary = await (early || summaryOf());
    if (generation !== state.generation) return;
    state.summary = summary;
    renderSummary();
    renderDays();
    // What is on screen, for tests and scripts that drive the page: "2026-11|campaign|cmp-1".
    document.documentElement.dataset.shown = [state.month, state.filter, state.source].join('|');
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark('deliveryd:month-shown', { detail: { month: state.month } });
      performance.measure('deliveryd:month', { start: started, detail: { month: state.month } });
    }, 0));
    if (state.day.startsWith(state.month)) await dayLog.open(state.day, scope(), dayFilters());
    else dayLog.close();
  } catch (error) {
    if (generation !== state.generation) return;
    clearMonth();
    dayLog.close();
    document.documentElement.dataset.shown = '';
    if (error instanceof ApiError && error.status === 410) {
      // The ledger keeps no earlier month either: the picker stops here.
      $('#month').min = nextMonth(state.month);
    }
    fail(error);
  } finally {
    if (generation === state.generation) setLoading(false);
  }
}

function nextMonth(month, step = 1) {
  const [y, m] = month.split('-').map(Number);
  const index = y * 12 + (m - 1) + step;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** Changes what is shown (a new history entry) and loads it. */
function navigate(patch) {
  Object.assign(state, patch);
  if (!state.day.startsWith(state.month)) state.day = '';
  writeFragment(false);
  load();
}

// ------------------------------------------------------------------------------------------------ the day

const sendView = new SendView($('dialog.send'), { money, fail });
const dayLog = new DayLog($('.day-log'), { openSend: (id) => sendView.open(id), money, fail });

function dayFilters() {
  const form = $('.day-filters');
  return { status: form.status.value, medium: form.medium.value, contact: form.contact.value.trim() };
}

function openDay(date) {
  state.day = date;
  writeFragment(false);
  for (const row of document.querySelectorAll('.day-table tr.current')) row.classList.remove('current');
  document.querySelector(`[data-day="${date}"]`)?.closest('tr')?.classList.add('current');
  clearError();
  dayLog.open(date, scope(), dayFilters()).then(() => $('.day-log').scrollIntoView({ block: 'start' }));
}

function fillDayFilters() {
  const form = $('.day-filters');
  const keep = { status: form.status.value, medium: form.medium.value };
  form.status.replaceChildren(el('option', { value: '' }, t('day.filter.any')),
    ...statuses.map((s) => el('option', { value: s }, t(`status.${s}`))));
  form.medium.replaceChildren(el('option', { value: '' }, t('day.filter.any')),
    ...media.map((m) => el('option', { value: m }, t(`medium.${m}`))));
  form.status.value = keep.status;
  form.medium.value = keep.medium;
}

// ------------------------------------------------------------------------------------------------ tooltips

// The "?" shows its reason on hover and keyboard focus (CSS), and on a tap or click, until another tap, a tap
// elsewhere, or Escape. The tooltip is placed in the window (position: fixed), below the "?" or above it when the
// window ends there, so that no scrolling box around the log cuts it off.
function placeTip(button) {
  const tip = button.nextElementSibling;
  if (!tip || getComputedStyle(tip).display === 'none') return;
  const anchor = button.getBoundingClientRect();
  const box = tip.getBoundingClientRect();
  const left = Math.min(Math.max(8, anchor.left + anchor.width / 2 - box.width / 2), innerWidth - box.width - 8);
  const below = anchor.bottom + 6;
  const top = below + box.height <= innerHeight - 8 ? below : Math.max(8, anchor.top - 6 - box.height);
  tip.style.left = `${Math.round(left)}px`;
  tip.style.top = `${Math.round(top)}px`;
}

function placeShownTips() {
  for (const button of document.querySelectorAll('.hint-button')) {
    const hint = button.parentElement;
    if (hint.matches(':hover, .open') || button.matches(':focus-visible')) placeTip(button);
  }
}

document.addEventListener('pointerover', (event) => {
  const button = event.target.closest('.hint')?.querySelector('.hint-button');
  if (button) placeTip(button);
});
document.addEventListener('focusin', (event) => {
  if (event.target.classList?.contains('hint-button')) placeTip(event.target);
});
document.addEventListener('click', (event) => {
  const button = event.target.closest('.hint-button');
  for (const open of document.querySelectorAll('.hint.open')) if (open !== button?.parentElement) open.classList.remove('open');
  if (button) {
    button.parentElement.classList.toggle('open');
    placeTip(button);
  }
});
document.addEventListener('scroll', placeShownTips, { capture: true, passive: true });
addEventListener('resize', placeShownTips);
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  for (const open of document.querySelectorAll('.hint.open')) open.classList.remove('open');
  const focused = document.activeElement;
  if (focused?.classList.contains('hint-button')) focused.blur();
});

// ------------------------------------------------------------------------------------------------ the token

const tokenDialog = $('dialog.token');

function promptForToken(wrong) {
  return new Promise((resolve) => {
    tokenDialog.querySelector('.token-wrong').hidden = !wrong;
    const input = byTestId('token');
    input.value = '';
    const done = (value) => {
      tokenDialog.removeEventListener('submit', submitted);
      tokenDialog.removeEventListener('cancel', cancelled);
      if (tokenDialog.open) tokenDialog.close();
      byTestId('forget-token').hidden = value === null;
      resolve(value);
    };
    const submitted = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      // A token is printable ASCII (an HTTP header cannot carry more); anything else cannot be the one.
      if (/^[\x21-\x7e]+$/.test(value)) done(value);
      else tokenDialog.querySelector('.token-wrong').hidden = false;
    };
    const cancelled = () => done(null);
    tokenDialog.addEventListener('submit', submitted);
    tokenDialog.addEventListener('cancel', cancelled);
    if (!tokenDialog.open) tokenDialog.showModal();
    input.focus();
  });
}

// ------------------------------------------------------------------------------------------------ start

function applyLanguage(lang) {
  i18n.setLanguage(lang);
  i18n.translate();
  for (const button of document.querySelectorAll('[data-lang]')) button.setAttribute('aria-pressed', String(button.dataset.lang === lang));
  fillDayFilters();
  renderSources();
  if (state.summary) {
    renderSummary();
    renderDays();
  }
  if (state.lastError) showError(state.lastError, state.retry);
  if (dayLog.date) dayLog.open(dayLog.date, scope(), dayFilters());
}

function wire() {
  // Forms never submit to the server: every change is handled here (form-action 'none' would refuse it anyway).
  for (const form of document.querySelectorAll('form:not([method="dialog"])')) {
    form.addEventListener('submit', (event) => event.preventDefault());
  }
  $('#month').addEventListener('change', (event) => {
    if (/^\d{4}-\d{2}$/.test(event.target.value)) navigate({ month: event.target.value });
  });
  for (const button of document.querySelectorAll('.step')) {
    button.addEventListener('click', () => navigate({ month: nextMonth(state.month, Number(button.dataset.step)) }));
  }
  $('#filter').addEventListener('change', (event) => navigate({ filter: event.target.value, source: '' }));
  $('#source').addEventListener('change', (event) => navigate({ source: event.target.value }));
  for (const button of document.querySelectorAll('.downloads button')) {
    button.addEventListener('click', async () => {
      try {
        await download({ month: state.month, format: button.dataset.format, ...scope() });
        $('.notice').textContent = t('download.started', { format: button.dataset.format.toUpperCase() });
      } catch (error) {
        fail(error);
      }
    });
  }
  $('.day-table').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-day]');
    if (button) openDay(button.dataset.day);
  });
  $('.day-filters').addEventListener('submit', () => {
    if (state.day) openDay(state.day);
  });
  $('.day-filters').addEventListener('reset', () => setTimeout(() => state.day && openDay(state.day), 0));
  for (const select of ['#day-status', '#day-medium']) $(select).addEventListener('change', () => state.day && openDay(state.day));
  $('.day-close').addEventListener('click', () => {
    state.day = '';
    writeFragment(false);
    dayLog.close();
    for (const row of document.querySelectorAll('.day-table tr.current')) row.classList.remove('current');
  });
  banner.querySelector('.retry').addEventListener('click', () => state.retry?.());
  byTestId('forget-token').addEventListener('click', (event) => {
    forgetToken();
    event.target.hidden = true;
  });
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => applyLanguage(button.dataset.lang));
  }
  window.addEventListener('popstate', () => {
    Object.assign(state, readFragment());
    load();
  });
  // The chart is drawn at the page's width: again when that changes.
  let width = 0;
  new ResizeObserver(([entry]) => {
    const next = Math.round(entry.contentRect.width);
    if (next !== width && state.summary && state.summary.total > 0) {
      width = next;
      drawChart($('.chart-host'), state.summary.days, i18n.monthName(state.month), (date) => openDay(date));
    }
  }).observe($('.chart'));
  setTokenPrompt(promptForToken);
  byTestId('forget-token').hidden = !hasToken();
}

Object.assign(state, readFragment());
wire();
applyLanguage(i18n.preferredLanguage());
writeFragment(true);
document.documentElement.dataset.ready = '1';
load();
