// api.js: the calls the dashboard makes to the closecast server, and the one
// error type they fail with. The contract (shared with package server):
//   GET  api/models                    → {default, models: [{symbol, version, window, last_known, last_close, holdout}]}
//                                         (404 on a server older than multi-market serving)
//   GET  api/model?symbol              → model metadata
//   GET  api/history?symbol&from&to    → {symbol, bars: [{date, open, high, low, close, volume}]}
//   POST predict {date, symbol?, horizon?} → {prediction, symbol, date, model, inputs {from, to, days},
//                                         last_close, change, change_pct, actual?}; with horizon N > 1
//                                         also forecasts: [{date, prediction, p10?, p50?, p90?, actual?}]
//                                         (N consecutive days; a day may also carry quantiles {"2.5": v, …, "97.5": v})
//                                         and interval {method, samples, seed, quantiles}
//   an unserved symbol                 → 404 {error, code: "unknown_symbol", symbols: [served…]}
//   GET  api/accuracy?symbol&days      → {symbol, days, n, pending?, model: {mae, mape}|null, persistence: {mae, mape}|null,
//                                         rows: [{date, predicted, actual, last_close, error, persistence_error, model}]}
//                                         (404 no_ledger on a server that keeps no ledger, the Lambda)
//   errors                             → {error: "<sentence>", code: "<code>", valid?: {from, to}}
// URLs are relative so the page also works when served under a path prefix.

// ApiError is what every call rejects with. status is 0 when the server could
// not be reached at all; code is the server's machine code when it sent one.
export class ApiError extends Error {
  constructor({ status = 0, code = '', message = '', valid = null, retryAfter = null } = {}) {
    super(message || code || ('HTTP ' + status));
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.valid = valid;
    this.retryAfter = retryAfter;
  }
}

async function call(url, init) {
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, ...init });
  } catch (e) {
    throw new ApiError({ status: 0, code: 'network', message: String(e && e.message || e) });
  }
  let body = null;
  const text = await res.text();
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!res.ok) {
    const b = body && typeof body === 'object' ? body : {};
    const ra = res.headers.get('Retry-After');
    throw new ApiError({
      status: res.status,
      code: typeof b.code === 'string' ? b.code : '',
      message: typeof b.error === 'string' ? b.error : '',
      valid: b.valid && b.valid.from && b.valid.to ? b.valid : null,
      retryAfter: ra && /^\d+$/.test(ra) ? Number(ra) : null,
    });
  }
  if (body === null || typeof body !== 'object') {
    throw new ApiError({ status: res.status, code: 'bad_response', message: 'response is not a JSON object' });
  }
  return body;
}

// getModels lists the served markets (GET api/models).
export function getModels() { return call('api/models'); }

// getModel asks for one market's model; without a symbol, the server's default
// (a server older than multi-market serving knows no ?symbol=).
export function getModel(symbol) {
  return call('api/model' + (symbol ? '?' + new URLSearchParams({ symbol }) : ''));
}

export function getHistory({ symbol, from, to } = {}) {
  const q = new URLSearchParams();
  if (symbol) q.set('symbol', symbol);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const qs = q.toString();
  return call('api/history' + (qs ? '?' + qs : ''));
}

export function getAccuracy({ symbol, days } = {}) {
  const q = new URLSearchParams();
  if (symbol) q.set('symbol', symbol);
  if (days) q.set('days', String(days));
  const qs = q.toString();
  return call('api/accuracy' + (qs ? '?' + qs : ''));
}

// predict forecasts date; horizon > 1 asks that many days with the server's
// default interval (a plain one-day request stays the reference's body).
export function predict(date, symbol, horizon) {
  const body = { date };
  if (symbol) body.symbol = symbol;
  if (horizon > 1) body.horizon = horizon;
  return call('predict', {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}
