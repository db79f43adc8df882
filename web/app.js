// app.js: the closecast dashboard. It loads the model's metadata and the
// price history, draws the chart, metrics and loss curve, and runs forecasts
// through POST /predict. All state lives in `state`; render() redraws every
// language-dependent part from it, so switching language never refetches.
//
// For tests and scripts the page exposes its progress as attributes:
// body[data-state] is "loading" then "ready" once the first render is done;
// #predict-form[data-state] is "idle", "busy", "done" or "error";
// body[data-market] is the market whose data the page shows, set once it
// is drawn (also after a switch, when data-state is "ready" again).
//
// The address keeps the view: ?symbol= the market (when the server serves
// several, GET api/models), ?date= the day forecast, ?lang= the language, so
// that a copied link reopens the same view.

import * as i18n from './i18n.js';
import { t } from './i18n.js';
import * as api from './api.js';
import { PriceChart, COLORS, quantilesOf, bandsOf } from './chart.js';

const $ = (id) => document.getElementById(id);
const DAY = 86400000;

const state = {
  model: null, modelError: null,
  history: null, historyError: null,
  symbol: null,
  markets: null, // GET api/models' list when the server serves several markets, else null (no switcher)
  prediction: null, predictError: null,
  live: null, liveError: null, // GET api/accuracy; liveError no_ledger hides the panel
  style: 'candles',
};

let chart = null;

// ---- small helpers -------------------------------------------------------

function addDays(iso, n) {
  return new Date(Date.parse(iso + 'T00:00:00Z') + n * DAY).toISOString().slice(0, 10);
}

function isISODate(s) { return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s); }

function coinName(symbol) {
  const base = String(symbol || '').split('-')[0].toUpperCase();
  return ({ BTC: 'Bitcoin', ETH: 'Ethereum' })[base] || base || 'Bitcoin';
}

// el builds an element: el('td', {class: 'x'}, 'text', child…).
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids) n.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return n;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  for (const k of kids) n.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return n;
}

// errorText turns an ApiError into one readable sentence in the page
// language. In English the server's own sentence is the most precise; in
// Portuguese the code's translation is used, since the server speaks English.
function errorText(e) {
  if (!(e instanceof api.ApiError)) return String(e && e.message || e);
  if (e.status === 0) return t('err.network');
  let s;
  if (i18n.lang() === 'en' && e.serverMessage) s = e.serverMessage;
  else if (e.code && i18n.has('err.' + e.code)) s = t('err.' + e.code);
  else s = e.serverMessage || t('err.http', { status: e.status });
  const extra = [];
  if (e.valid) extra.push(t('err.valid', { from: e.valid.from, to: e.valid.to }));
  if (e.retryAfter) extra.push(t('err.retry', { s: e.retryAfter }));
  return [s, ...extra].join(' ');
}


// ---- static text ---------------------------------------------------------

function renderStatic() {
  const coin = coinName(state.symbol);
  const vars = { coin, symbol: state.symbol || '', sign: i18n.currencySign(), currency: i18n.currencyName() };
  document.documentElement.lang = i18n.lang();
  document.title = t('doc.title', vars);
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n, vars);
  for (const n of document.querySelectorAll('[data-i18n-aria-label]')) n.setAttribute('aria-label', t(n.dataset.i18nAriaLabel, vars));
  const lb = $('lang-toggle');
  const other = i18n.lang() === 'en' ? 'pt-BR' : 'en';
  lb.textContent = t('lang.button');
  lb.lang = other;
  lb.setAttribute('aria-label', t('lang.label'));
  $('symbol').textContent = state.symbol || '';
  renderMarkets();
}

// renderMarkets fills the market switcher, shown only when the server
// serves more than one market.
function renderMarkets() {
  const box = $('market-box');
  const sel = $('market');
  const ms = state.markets;
  box.hidden = !ms;
  if (!ms) return;
  sel.replaceChildren(...ms.map((m) => el('option', { value: m.symbol }, `${coinName(m.symbol)} (${m.symbol})`)));
  sel.value = state.symbol;
}

// ---- header: the model ----------------------------------------------------

// LEVEL_TOLERANCE is metrics.LevelTolerance (package metrics documents why
// 2 %; a Go test keeps the two equal): a model whose MAE is within it of
// persistence's is called level with persistence, neither better nor worse,
// when the model stores no Diebold–Mariano test (an older model.json).
const LEVEL_TOLERANCE = 0.02;

// DM_SIGNIFICANCE is metrics.Significance (a Go test keeps the two equal):
// an evaluation's stored Diebold–Mariano test against persistence
// (versus_persistence) with p at or above it calls the model level.
const DM_SIGNIFICANCE = 0.05;

// dmTest returns the Diebold–Mariano test stored with evaluation r, or null.
function dmTest(r) {
  const v = r && r.versus_persistence;
  return v && Number.isFinite(v.p) ? { p: v.p >= 0.001 ? '= ' + i18n.num(v.p, v.p >= 0.01 ? 2 : 3) : '< ' + i18n.num(0.001, 3), level: v.p >= DM_SIGNIFICANCE } : null;
}

function renderModel() {
  const box = $('model-info');
  box.replaceChildren();
  const m = state.model;
  if (!m) {
    box.append(el('p', { class: state.modelError ? 'error' : 'muted' },
      state.modelError ? t('model.unavailable', { reason: errorText(state.modelError) }) : t('model.loading')));
    return;
  }
  const dl = el('dl', { class: 'facts' });
  const add = (k, v, id) => { dl.append(el('div', {}, el('dt', {}, t(k)), el('dd', { id }, v))); };
  add('model.version', m.version || '—', 'model-version');
  if (m.train_range && m.train_range.from) {
    add('model.trained', `${i18n.date(m.train_range.from)} – ${i18n.date(m.train_range.to)}`, 'model-train');
  }
  if (Number.isFinite(m.window)) add('model.window', t('model.windowDays', { n: m.window }), 'model-window');
  const epochs = (m.training && m.training.epochs_trained) ?? m.epochs_trained;
  if (Number.isFinite(epochs)) add('model.epochs', String(epochs), 'model-epochs');
  const h = m.metrics && m.metrics.holdout;
  if (h && h.model && h.persistence && Number.isFinite(h.model.mae) && Number.isFinite(h.persistence.mae) && h.persistence.mae > 0) {
    const maes = { model: i18n.money(h.model.mae), persistence: i18n.money(h.persistence.mae) };
    const rel = (h.model.mae / h.persistence.mae - 1) * 100;
    const dm = dmTest(h);
    if (dm ? dm.level : Math.abs(rel) < LEVEL_TOLERANCE * 100) {
      add('model.holdout', el('span', { class: 'level' }, dm ? t('model.levelDM', { ...maes, p: dm.p }) : t('model.level', maes)), 'model-holdout');
    } else {
      const verdict = (rel < 0 ? t('model.better', { pct: i18n.pct(-rel, 1) }) : t('model.worse', { pct: i18n.pct(rel, 1) })) +
        (dm ? '; ' + t('model.dm', { p: dm.p }) : '');
      add('model.holdout', el('span', {}, t('model.vsPersistence', maes),
        ' ', el('span', { class: rel < 0 ? 'good' : 'bad' }, `(${verdict})`)), 'model-holdout');
    }
  }
  if (m.created) {
    const d = new Date(m.created);
    add('model.created', Number.isNaN(d.getTime()) ? String(m.created) : i18n.date(d.toISOString().slice(0, 10)), 'model-created');
  }
  box.append(dl);
}

// ---- forecast form and result --------------------------------------------

function lastBarDate() {
  const bars = state.history && state.history.bars;
  return bars && bars.length ? bars[bars.length - 1].date : null;
}

function renderHint() {
  const last = lastBarDate();
  $('date-hint').textContent = last ? t('forecast.hint', { date: addDays(last, 1) }) : t('forecast.hintUnknown');
}

function renderError() {
  const box = $('predict-error');
  const input = $('date');
  if (state.predictError) {
    box.textContent = errorText(state.predictError);
    box.hidden = false;
    input.setAttribute('aria-invalid', 'true');
  } else {
    box.textContent = '';
    box.hidden = true;
    input.removeAttribute('aria-invalid');
  }
}

function renderResult() {
  const box = $('result');
  const wasOpen = !!box.querySelector('details[open]');
  box.replaceChildren();
  const p = state.prediction;
  if (!p) { box.append(el('p', { class: 'muted' }, t('result.empty'))); return; }
  box.append(el('h3', { id: 'result-heading' }, t('result.heading', { date: i18n.date(p.date) })));
  const big = el('p', { class: 'big' },
    el('span', { class: 'label' }, t('result.prediction')),
    el('output', { id: 'result-prediction', 'data-value': p.prediction, for: 'date' }, i18n.money(p.prediction)));
  box.append(big);
  const dl = el('dl', { class: 'facts' });
  const add = (label, v, id, cls) => { dl.append(el('div', {}, el('dt', {}, label), el('dd', { id, class: cls }, v))); };
  if (Number.isFinite(p.last_close)) {
    add(t('result.lastClose', { date: i18n.date(p.inputs && p.inputs.to) }), i18n.money(p.last_close), 'result-last-close');
  }
  if (Number.isFinite(p.change)) {
    const up = p.change > 0; const flat = p.change === 0;
    const arrow = flat ? '' : up ? '▲ ' : '▼ ';
    const pc = Number.isFinite(p.change_pct) ? ` (${i18n.pct(p.change_pct, 2, true)})` : '';
    add(t('result.change'), arrow + i18n.signedMoney(p.change) + pc, 'result-change', flat ? '' : up ? 'good' : 'bad');
  }
  if (p.inputs && p.inputs.from) {
    add(t('result.window'), t('result.windowValue', { from: i18n.date(p.inputs.from), to: i18n.date(p.inputs.to), n: p.inputs.days }), 'result-window');
  }
  if (Number.isFinite(p.actual)) {
    const err = p.prediction - p.actual;
    add(t('result.actual'), el('span', {}, i18n.money(p.actual), ' ',
      el('span', { class: 'muted' }, '— ' + t('result.actualError', { err: i18n.signedMoney(err), pct: i18n.pct(err / p.actual * 100, 2, true) }))), 'result-actual');
  } else {
    add(t('result.actual'), t('result.actualUnknown'), 'result-actual', 'muted');
  }
  if (p.model) add(t('result.model'), p.model, 'result-model');
  box.append(dl);
  const h = horizonBlock(p);
  if (h) box.append(h);
  // The reference's page showed the API's JSON answer; it is kept one click
  // away for those who script against the API.
  box.append(el('details', { class: 'raw', open: wasOpen },
    el('summary', {}, t('result.raw')), el('pre', { id: 'result-json' }, JSON.stringify(p, null, 2))));
}

// bandNote says how the answer's band was made (p.interval): conformal,
// with the days it was calibrated on, the naive-baseline ensemble, or
// Monte-Carlo dropout.
function bandNote(iv) {
  if (iv && iv.method === 'ensemble') return t('horizon.bandEnsemble');
  const c = iv && iv.method === 'conformal' ? iv.calibration : null;
  if (c && isISODate(c.from) && isISODate(c.to)) {
    return t('horizon.bandConformal', { days: c.days, from: i18n.date(c.from), to: i18n.date(c.to) });
  }
  return t('horizon.band', { samples: (iv && iv.samples) || '?' });
}

// horizonBlock is the table of a multi-day answer (p.forecasts): one row per
// day with the forecast, the low and high end of every central band the
// answer carries (p10..p90, and p2.5..p97.5, p25..p75 of a fan) and the
// actual close when known, then what the bands mean. Null for a one-day
// answer without a band.
function horizonBlock(p) {
  const days = Array.isArray(p.forecasts) ? p.forecasts.filter((f) => f && isISODate(f.date) && Number.isFinite(f.prediction)) : [];
  if (!days.length) return null;
  const bands = bandsOf(days);
  const band = bands.length > 0;
  // Quantile columns from the lowest level to the highest: p2.5, p10, p25, p75, p90, p97.5.
  const levels = [...bands.map((b) => b.lo), ...bands.map((b) => b.hi).reverse()];
  const cols = [
    ['prediction', t('horizon.prediction'), (f) => f.prediction],
    ...levels.map((lv) => ['p' + lv, t(lv < 50 ? 'horizon.low' : 'horizon.high', { q: lv }), (f, q) => q.get(lv)]),
    ['actual', t('horizon.actual'), (f) => f.actual],
  ];
  const body = el('tbody');
  for (const f of days) {
    const q = quantilesOf(f);
    body.append(el('tr', {}, el('th', { scope: 'row' }, i18n.date(f.date)),
      ...cols.map(([k, , get]) => {
        const v = get(f, q);
        return el('td', { 'data-key': k, class: k === 'actual' && !Number.isFinite(v) ? 'muted' : null },
          Number.isFinite(v) ? i18n.money(v) : '—');
      })));
  }
  const cap = t('horizon.heading', { n: days.length, from: i18n.date(days[0].date), to: i18n.date(days[days.length - 1].date) });
  const notes = [];
  if (band) notes.push(el('p', { class: 'hint', id: 'horizon-band' }, bandNote(p.interval)));
  // The first day's bands adapted online from the server's scored live
  // forecasts (closecast serve --adaptive aci or faci): say so, with α and n.
  const ad = days[0].adaptive;
  if (band && ad && (ad.method === 'aci' || ad.method === 'faci') && Number.isFinite(ad.alpha) && Number.isInteger(ad.n)) {
    notes.push(el('p', { class: 'hint', id: 'horizon-adaptive' },
      t(ad.method === 'faci' ? 'horizon.adaptiveFACI' : 'horizon.adaptive', { date: i18n.date(days[0].date), n: ad.n, alpha: i18n.num(ad.alpha, 3), factor: i18n.num(ad.factor, 2) })));
  }
  if (bands.length > 1) {
    notes.push(el('p', { class: 'hint', id: 'horizon-fan' },
      t('horizon.fan', { bands: bands.map((b) => i18n.pct(b.coverage, 0)).join(', ') })));
  }
  if (days.length > 1) notes.push(el('p', { class: 'hint', id: 'horizon-steps' }, t(p.steps === 'direct' ? 'horizon.direct' : 'horizon.recursive')));
  return el('div', { class: 'metrics-block horizon' },
    el('h3', { id: 'horizon-cap' }, cap),
    el('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': 'horizon-cap' },
      el('table', { id: 'horizon-table', 'aria-labelledby': 'horizon-cap' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('horizon.date')), ...cols.map(([, label]) => el('th', { scope: 'col' }, label)))),
        body)),
    ...notes);
}

async function onPredict(ev) {
  ev.preventDefault();
  const form = $('predict-form');
  const btn = $('predict-btn');
  const date = $('date').value.trim();
  state.predictError = null;
  if (!date) {
    state.predictError = new api.ApiError({ status: 400, code: 'missing_date' });
  } else if (!isISODate(date)) {
    state.predictError = new api.ApiError({ status: 400, code: 'invalid_date' });
  }
  if (state.predictError) {
    form.dataset.state = 'error';
    renderError();
    $('date').focus();
    return;
  }
  setURL({ date });
  form.dataset.state = 'busy';
  btn.disabled = true;
  btn.textContent = t('forecast.busy');
  const gen = loadGen;
  try {
    const p = await api.predict(date, state.symbol, Number($('horizon').value) || 1);
    if (gen !== loadGen) return; // the market changed meanwhile: this answer is not for it
    state.prediction = p;
    state.predictError = null;
    form.dataset.state = 'done';
  } catch (e) {
    if (gen !== loadGen) return;
    state.predictError = e;
    if (e instanceof api.ApiError && e.valid) {
      $('date').min = e.valid.from;
      $('date').max = e.valid.to;
    }
    form.dataset.state = 'error';
  } finally {
    btn.disabled = false;
    btn.textContent = t('forecast.button');
  }
  if (gen !== loadGen) return;
  renderError();
  renderResult();
  if (chart && !state.predictError) chart.setForecast(state.prediction);
}

// ---- chart ---------------------------------------------------------------

function renderChartText() {
  const bars = state.history && state.history.bars;
  const c = $('chart');
  if (state.historyError) {
    $('chart-error').textContent = t('err.history', { reason: errorText(state.historyError) });
    $('chart-error').hidden = false;
  } else {
    $('chart-error').hidden = true;
  }
  if (bars && bars.length) {
    c.setAttribute('aria-label', t('chart.label', { symbol: state.symbol, from: i18n.date(bars[0].date), to: i18n.date(bars[bars.length - 1].date) }));
  }
  if (chart) {
    // Axis labels drop the cents of prices of four digits and more: they
    // only take width there; the result panel shows the exact values.
    chart.setLocale(i18n.lang(), (v) => (Math.abs(v) >= 1000 ? i18n.money0(v) : i18n.money(v)), i18n.date, {
      holdout: t('series.holdout'), validation: t('series.validation'), forecast: t('series.forecast'),
    });
  }
  for (const b of document.querySelectorAll('[data-style]')) b.setAttribute('aria-pressed', String(b.dataset.style === state.style));
}

// drawChart shows the market's bars and the model's predictions, creating
// the chart on the first market that has bars.
function drawChart() {
  const bars = (state.history && state.history.bars) || [];
  if (!chart) {
    if (!bars.length) return;
    initChart();
  }
  chart.setBars(bars);
  const pr = state.model && state.model.predictions;
  chart.setPredictions(pr && pr.holdout, pr && pr.validation);
  chart.setForecast(null);
  renderChartText();
  chart.showDays(365);
}

function initChart() {
  chart = new PriceChart($('chart'));
  for (const b of document.querySelectorAll('[data-style]')) {
    b.addEventListener('click', () => { state.style = b.dataset.style; chart.setStyle(state.style); renderChartText(); });
  }
  for (const b of document.querySelectorAll('[data-days]')) {
    b.addEventListener('click', () => chart.showDays(Number(b.dataset.days)));
  }
}

// ---- metrics -------------------------------------------------------------

// The artifact's metrics (package metrics): MAE and RMSE in dollars, MAPE,
// sMAPE and direction hit rate in percent, MASE a ratio (below 1 beats
// persistence). An undefined figure (persistence's direction: it never
// predicts one) is null, shows as a dash and is never the best.
const UNDEFINED = '–';

const METRICS = [
  { key: 'mae', label: 'metrics.mae', fmt: (v) => i18n.num(v, 2), better: 'low' },
  { key: 'rmse', label: 'metrics.rmse', fmt: (v) => i18n.num(v, 2), better: 'low' },
  { key: 'mape', label: 'metrics.mape', fmt: (v) => i18n.pct(v, 2), better: 'low' },
  { key: 'smape', label: 'metrics.smape', fmt: (v) => i18n.pct(v, 2), better: 'low' },
  { key: 'mase', label: 'metrics.mase', fmt: (v) => i18n.num(v, 3), better: 'low' },
  { key: 'direction', label: 'metrics.direction', fmt: (v) => i18n.pct(v, 1), better: 'high' },
];
const METHODS = [['model', 'metrics.model'], ['persistence', 'metrics.persistence'], ['ma7', 'metrics.ma7']];

// level reports whether v is as good as best (better: 'low' or 'high'):
// equal, or within LEVEL_TOLERANCE of it, a difference the data cannot tell
// apart. Every figure level with the best of its column is marked best.
function level(v, best, better) {
  return better === 'low' ? v <= best * (1 + LEVEL_TOLERANCE) : v >= best * (1 - LEVEL_TOLERANCE);
}

function metricsTable(id, caption, r) {
  const methods = METHODS.filter(([k]) => r[k]);
  const cols = METRICS.filter((m) => methods.some(([k]) => Number.isFinite(r[k][m.key])));
  const best = {};
  for (const m of cols) {
    const vals = methods.map(([k]) => r[k][m.key]).filter(Number.isFinite);
    best[m.key] = m.better === 'low' ? Math.min(...vals) : Math.max(...vals);
  }
  const thead = el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('metrics.method')),
    ...cols.map((m) => el('th', { scope: 'col' }, t(m.label)))));
  const tbody = el('tbody');
  for (const [k, label] of methods) {
    const tr = el('tr', { class: k === 'model' ? 'model-row' : null }, el('th', { scope: 'row' }, t(label)));
    for (const m of cols) {
      const v = r[k][m.key];
      if (!Number.isFinite(v)) { tr.append(el('td', { 'data-key': m.key, class: 'undefined' }, UNDEFINED)); continue; }
      const isBest = methods.length > 1 && level(v, best[m.key], m.better);
      tr.append(el('td', { class: isBest ? 'best' : null, 'data-key': m.key },
        m.fmt(v), isBest ? el('span', { class: 'sr-only' }, ` (${t('metrics.best')})`) : ''));
    }
    tbody.append(tr);
  }
  // The title sits outside the scrolling box so that it wraps on a phone
  // instead of scrolling away with the table; aria-labelledby names both.
  return el('div', { class: 'metrics-block' },
    el('h3', { id: id + '-cap' }, caption),
    el('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': id + '-cap' },
      el('table', { id, 'aria-labelledby': id + '-cap' }, thead, tbody)));
}

function renderMetrics() {
  const box = $('metrics-tables');
  box.replaceChildren();
  const mm = state.model && state.model.metrics;
  let any = false;
  for (const [k, label] of [['holdout', 'metrics.holdout'], ['validation', 'metrics.validation']]) {
    const r = mm && mm[k];
    if (!r || !r.model) continue;
    any = true;
    box.append(metricsTable('metrics-' + k, t(label, { from: i18n.date(r.from), to: i18n.date(r.to), n: r.n }), r));
  }
  if (!any) box.append(el('p', { class: 'muted' }, state.model ? t('metrics.none') : (state.modelError ? '—' : t('model.loading'))));
  else {
    const dm = dmTest(mm.holdout);
    box.append(el('p', { class: 'hint', id: 'metrics-level' }, t(dm ? 'metrics.levelDM' : 'metrics.level', { pct: i18n.pct(LEVEL_TOLERANCE * 100, 0), p: dm && dm.p })));
  }
}

// ---- live accuracy: the server's own past forecasts, scored -------------

// LIVE_DAYS is the window of the live accuracy panel, in days.
const LIVE_DAYS = 30;

function renderLive() {
  const sec = $('live');
  const box = $('live-body');
  box.replaceChildren();
  const e = state.liveError;
  // A server without a ledger has nothing to show: no panel. That is a 404
  // no_ledger (the Lambda), API Gateway's own 404 for a route it was not
  // given (no code), or not_found from a server older than the route.
  // Until the answer arrives the panel stays hidden too, so that it does not
  // flash on those servers.
  const a = state.live;
  if ((!a && !e) || (e instanceof api.ApiError && e.status === 404 && e.code !== 'unknown_symbol')) { sec.hidden = true; return; }
  sec.hidden = false;
  if (e) { box.append(el('p', { class: 'error' }, t('live.unavailable', { reason: errorText(e) }))); return; }
  const rows = Array.isArray(a.rows) ? a.rows.filter((r) => r && isISODate(r.date) && Number.isFinite(r.actual)) : [];
  // The ledger's forecasts whose close is not known yet (a server older
  // than the count sends none).
  const pending = Number.isInteger(a.pending) && a.pending > 0
    ? el('p', { class: 'hint', id: 'live-pending' }, t('live.pending', { n: a.pending })) : '';
  if (!rows.length || !a.model || !a.persistence) {
    box.append(el('p', { class: 'muted', id: 'live-empty' }, t('live.none')), pending);
    return;
  }
  const sum = { model: a.model, persistence: a.persistence };
  const cols = [
    { key: 'mae', label: 'metrics.mae', fmt: (v) => i18n.num(v, 2) },
    { key: 'mape', label: 'metrics.mape', fmt: (v) => i18n.pct(v, 2) },
  ];
  const tbody = el('tbody');
  for (const [k, label] of [['model', 'metrics.model'], ['persistence', 'metrics.persistence']]) {
    const tr = el('tr', { class: k === 'model' ? 'model-row' : null }, el('th', { scope: 'row' }, t(label)));
    for (const c of cols) {
      const v = sum[k][c.key];
      const other = sum[k === 'model' ? 'persistence' : 'model'][c.key];
      const best = Number.isFinite(v) && Number.isFinite(other) && level(v, Math.min(v, other), 'low');
      tr.append(el('td', { class: best ? 'best' : null, 'data-key': c.key },
        Number.isFinite(v) ? c.fmt(v) : '—', best ? el('span', { class: 'sr-only' }, ` (${t('metrics.best')})`) : ''));
    }
    tbody.append(tr);
  }
  const first = rows[rows.length - 1].date, last = rows[0].date;
  const cap = t('live.summary', { n: rows.length, from: i18n.date(first), to: i18n.date(last) });
  box.append(el('div', { class: 'metrics-block' },
    el('h3', { id: 'live-summary-cap' }, cap),
    el('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': 'live-summary-cap' },
      el('table', { id: 'live-summary', 'aria-labelledby': 'live-summary-cap' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('metrics.method')), ...cols.map((c) => el('th', { scope: 'col' }, t(c.label))))),
        tbody)), pending));
  renderLiveDistribution(box, a.distribution);
  // The days themselves, newest first, as the server sends them.
  const body = el('tbody');
  for (const r of rows) {
    body.append(el('tr', {},
      el('th', { scope: 'row' }, i18n.date(r.date)),
      el('td', { 'data-key': 'predicted' }, i18n.money(r.predicted)),
      el('td', { 'data-key': 'actual' }, i18n.money(r.actual)),
      el('td', { 'data-key': 'error', class: Math.abs(r.error) <= r.persistence_error ? 'good' : 'bad' }, i18n.signedMoney(r.error)),
      el('td', { 'data-key': 'persistence_error' }, i18n.money(r.persistence_error))));
  }
  box.append(el('div', { class: 'metrics-block' },
    el('h3', { id: 'live-rows-cap' }, t('live.rows')),
    el('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': 'live-rows-cap' },
      el('table', { id: 'live-rows', 'aria-labelledby': 'live-rows-cap' },
        el('thead', {}, el('tr', {}, ...['live.date', 'live.predicted', 'live.actual', 'live.error', 'live.persistenceError']
          .map((k) => el('th', { scope: 'col' }, t(k))))),
        body))));
}

// DIST_COLS are the columns of the live distribution table: the keys of
// /api/accuracy's distribution scores.
const DIST_COLS = [
  { key: 'coverage80', label: 'live.coverage80', fmt: (v) => i18n.pct(v, 1), better: 'near80' },
  { key: 'pinball_pct', label: 'live.pinball', fmt: (v) => i18n.pct(v, 3), better: 'low' },
  { key: 'winkler80_pct', label: 'live.winkler80', fmt: (v) => i18n.pct(v, 2), better: 'low' },
];

// baselineName is a naive baseline's readable name ("GARCH(1,1)-t"), or
// its key for one this dashboard does not know.
function baselineName(method) {
  const k = `baseline.${method}`;
  const s = t(k);
  return s === k ? method : s;
}

// renderLiveDistribution appends the live forecast distributions' scores
// to box: the model's 80 % coverage, pinball loss and Winkler score beside
// the best naive baseline's (and the model adapted by ACI or FACI, as
// /predict serves it) on the same days. Nothing without a distribution (a ledger of
// point forecasts only, an older server); a note with fewer than 2 days.
function renderLiveDistribution(box, d) {
  if (!d || typeof d !== 'object' || !Number.isInteger(d.n) || d.n < 1) return;
  const ok = (x) => x && typeof x === 'object' && DIST_COLS.every((c) => Number.isFinite(x[c.key]));
  if (!ok(d.model) || !ok(d.best_baseline)) {
    box.append(el('p', { class: 'muted', id: 'live-dist-few' }, t('live.distFew', { n: d.n })));
    return;
  }
  const rows = [['model', t('metrics.model'), d.model]];
  if (ok(d.adaptive)) rows.push(['adaptive', t(d.adaptive.method === 'model+faci' ? 'live.adaptiveFACI' : 'live.adaptive'), d.adaptive]);
  rows.push(['best_baseline', t('live.bestBaseline', { name: baselineName(d.best_baseline.method) }), d.best_baseline]);
  const tbody = el('tbody');
  for (const [k, label, x] of rows) {
    const tr = el('tr', { class: k === 'model' ? 'model-row' : null, 'data-row': k, 'data-method': x.method }, el('th', { scope: 'row' }, label));
    for (const c of DIST_COLS) {
      // The best figure of the rows is marked: the lowest loss, or the
      // coverage nearest the nominal 80 %.
      const score = (v) => (c.better === 'near80' ? Math.abs(v - 80) : v);
      const best = score(x[c.key]) <= Math.min(...rows.map(([, , y]) => score(y[c.key])));
      tr.append(el('td', { class: best ? 'best' : null, 'data-key': c.key },
        c.fmt(x[c.key]), best ? el('span', { class: 'sr-only' }, ` (${t('metrics.best')})`) : ''));
    }
    tbody.append(tr);
  }
  const cap = t('live.dist', { n: d.n, from: i18n.date(d.from), to: i18n.date(d.to) });
  box.append(el('div', { class: 'metrics-block' },
    el('h3', { id: 'live-dist-cap' }, cap),
    el('div', { class: 'table-wrap', role: 'region', tabindex: 0, 'aria-labelledby': 'live-dist-cap' },
      el('table', { id: 'live-dist', 'aria-labelledby': 'live-dist-cap', 'data-n': d.n },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('metrics.method')), ...DIST_COLS.map((c) => el('th', { scope: 'col' }, t(c.label))))),
        tbody)),
    el('p', { class: 'hint', id: 'live-dist-note' }, t('live.distNote'))));
}

// ---- loss curve (hand-drawn SVG: a line chart on an epoch axis) -----------

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function renderLoss() {
  const box = $('loss-chart');
  box.replaceChildren();
  const lc = state.model && state.model.loss_curve;
  const train = (lc && Array.isArray(lc.train) ? lc.train : []).filter(Number.isFinite);
  const val = (lc && Array.isArray(lc.val) ? lc.val : []).filter(Number.isFinite);
  if (!train.length && !val.length) {
    box.append(el('p', { class: 'muted' }, state.model ? t('loss.none') : (state.modelError ? '—' : t('model.loading'))));
    return;
  }
  // Draw at the box's own width (between 320 and 900 px) so that the labels
  // keep a readable size on a phone instead of being scaled down with the SVG.
  const W = Math.round(Math.min(900, Math.max(320, box.clientWidth || 640)));
  const H = W < 500 ? 220 : 260, L = 64, R = 16, T = 16, B = 40;
  const n = Math.max(train.length, val.length);
  const all = train.concat(val);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { hi = lo + 1; }
  const yt = niceTicks(lo, hi, 4);
  lo = Math.min(lo, yt[0]); hi = Math.max(hi, yt[yt.length - 1]);
  const x = (i) => L + (n <= 1 ? 0 : (i / (n - 1)) * (W - L - R));
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const xt = niceTicks(1, n, 6).filter((e) => Number.isInteger(e) && e >= 1 && e <= n);
  const fmt = (v) => i18n.num(v, Math.abs(hi - lo) < 0.1 ? 4 : 3);
  const summary = t('loss.summary', {
    n,
    t0: train.length ? fmt(train[0]) : '—', t1: train.length ? fmt(train[train.length - 1]) : '—',
    v0: val.length ? fmt(val[0]) : '—', v1: val.length ? fmt(val[val.length - 1]) : '—',
  });
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'loss-title loss-desc', class: 'loss-svg' },
    svg('title', { id: 'loss-title' }, t('loss.heading')),
    svg('desc', { id: 'loss-desc' }, summary));
  for (const v of yt) {
    g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    g.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(v)));
  }
  for (const e of xt) {
    g.append(svg('text', { x: x(e - 1), y: H - B + 16, 'text-anchor': 'middle', class: 'tick' }, e));
  }
  g.append(svg('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, t('loss.epoch')));
  g.append(svg('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'axis', transform: `rotate(-90 14 ${(T + H - B) / 2})` }, t('loss.loss')));
  const line = (a, color, cls) => svg('polyline', { points: a.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, class: cls });
  if (train.length) g.append(line(train, COLORS.line, 'train'));
  if (val.length) g.append(line(val, COLORS.holdout, 'val'));
  box.append(g);
  box.append(el('ul', { class: 'legend' },
    el('li', {}, el('span', { class: 'swatch', style: `background:${COLORS.line}` }), t('loss.train')),
    el('li', {}, el('span', { class: 'swatch', style: `background:${COLORS.holdout}` }), t('loss.val'))));
}

// ---- everything ----------------------------------------------------------

function render() {
  renderStatic();
  renderModel();
  renderHint();
  renderError();
  renderResult();
  renderChartText();
  renderMetrics();
  renderLive();
  renderLoss();
}

// historyFrom is the first day the chart needs: the earliest model prediction,
// so the overlays have prices under them, or a year before the last known day
// (the server's default) when the model has none.
function historyFrom(model) {
  const pr = model && model.predictions;
  let first = null;
  for (const k of ['holdout', 'validation']) {
    const a = pr && Array.isArray(pr[k]) ? pr[k] : [];
    if (a.length && isISODate(a[0].date) && (!first || a[0].date < first)) first = a[0].date;
  }
  return first ? addDays(first, -30) : null;
}

// urlState reads the view the address asks for: ?symbol= and ?date=.
function urlState() {
  const q = new URL(window.location.href).searchParams;
  const date = q.get('date');
  return { symbol: (q.get('symbol') || '').trim().toUpperCase(), date: isISODate(date) ? date : null };
}

// setURL writes the view into the address (null removes a parameter) without
// a reload; push adds a history entry, so that Back returns to the previous
// market, else the current entry is replaced.
function setURL(vals, push) {
  const u = new URL(window.location.href);
  for (const [k, v] of Object.entries(vals)) {
    if (v) u.searchParams.set(k, v); else u.searchParams.delete(k);
  }
  if (u.href === window.location.href) return;
  if (push) window.history.pushState(null, '', u);
  else window.history.replaceState(window.history.state, '', u);
}

// loadMarkets asks which markets the server serves. A server that serves
// one, or predates GET api/models (404), gets the page as it always was:
// no switcher, and the model's own symbol.
async function loadMarkets() {
  try {
    const r = await api.getModels();
    const ms = Array.isArray(r.models) ? r.models.filter((m) => m && typeof m.symbol === 'string' && m.symbol) : [];
    if (ms.length < 2) return;
    state.markets = ms;
    state.defaultSymbol = ms.some((m) => m.symbol === r.default) ? r.default : ms[0].symbol;
  } catch (_) {
    state.markets = null;
  }
}

// chooseSymbol is the market to show: the address's when served, else the
// server's default; null without a market list (the server decides).
function chooseSymbol(want) {
  if (!state.markets) return null;
  return state.markets.some((m) => m.symbol === want) ? want : state.defaultSymbol;
}

// loadGen counts market loads: an answer that arrives after the user chose
// another market belongs to the old one and is dropped.
let loadGen = 0;

// loadMarket fetches one market's model, history and live accuracy, draws
// them, and forecasts date when one is given (a deep link, or the day the
// previous market was showing).
async function loadMarket(symbol, date) {
  const gen = ++loadGen;
  document.body.dataset.state = 'loading';
  Object.assign(state, {
    symbol, model: null, modelError: null, history: null, historyError: null,
    live: null, liveError: null, prediction: null, predictError: null,
  });
  i18n.setCurrency(i18n.quoteCurrency(symbol));
  $('predict-form').dataset.state = 'idle';
  render();
  // One after the other: the history's range depends on the model's predictions.
  try {
    const m = await api.getModel(symbol);
    if (gen !== loadGen) return;
    state.model = m;
    if (!state.symbol && typeof m.symbol === 'string' && m.symbol) state.symbol = m.symbol;
  } catch (e) {
    if (gen !== loadGen) return;
    state.modelError = e;
  }
  try {
    const h = await api.getHistory({ symbol: state.symbol, from: historyFrom(state.model) });
    if (!Array.isArray(h.bars)) throw new api.ApiError({ status: 200, code: 'bad_response', message: 'history has no bars' });
    h.bars = h.bars.filter((b) => b && isISODate(b.date)).sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    if (gen !== loadGen) return;
    state.history = h;
    if (!state.symbol && h.symbol) state.symbol = h.symbol;
  } catch (e) {
    if (gen !== loadGen) return;
    state.historyError = e;
  }
  try {
    const a = await api.getAccuracy({ symbol: state.symbol, days: LIVE_DAYS });
    if (gen !== loadGen) return;
    state.live = a;
  } catch (e) {
    if (gen !== loadGen) return;
    state.liveError = e;
  }
  i18n.setCurrency(i18n.quoteCurrency(state.symbol));
  const last = lastBarDate();
  $('date').min = '';
  $('date').max = last ? addDays(last, 1) : '';
  $('date').value = date || (last ? addDays(last, 1) : '');
  try {
    drawChart();
  } catch (e) {
    state.historyError = e;
  }
  render();
  document.body.dataset.market = state.symbol || '';
  // Time from navigation start to the first fully rendered page, logged by the tests.
  if (!document.body.dataset.readyMs) document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.state = 'ready';
  if (date) $('predict-form').requestSubmit();
}

// switchMarket shows another market, keeping the day being forecast.
function switchMarket(symbol, push) {
  const { date } = urlState();
  setURL({ symbol }, push);
  return loadMarket(symbol, date);
}

async function main() {
  i18n.initLang();
  $('lang-toggle').addEventListener('click', () => {
    i18n.setLang(i18n.lang() === 'en' ? 'pt-BR' : 'en');
    render();
  });
  $('predict-form').addEventListener('submit', onPredict);
  $('market').addEventListener('change', () => switchMarket($('market').value, true));
  window.addEventListener('popstate', () => {
    const want = chooseSymbol(urlState().symbol);
    if (state.markets && want !== state.symbol) loadMarket(want, urlState().date);
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderLoss, 150);
  });
  render();
  await loadMarkets();
  const want = urlState();
  const symbol = chooseSymbol(want.symbol);
  // An unserved ?symbol= falls back to the default market, and the address says so.
  if (state.markets && want.symbol && want.symbol !== symbol) setURL({ symbol });
  await loadMarket(symbol, want.date);
}

main().catch((e) => {
  // Last resort: say what went wrong on the page, never leave it blank.
  const f = $('fatal');
  f.textContent = String(e && e.stack || e);
  f.hidden = false;
  document.body.dataset.state = 'error';
  throw e;
});
