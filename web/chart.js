// chart.js: the price chart, built on the vendored TradingView Lightweight
// Charts (see vendor/README.md). It shows daily bars as candles or a close
// line, the model's one-step-ahead predictions on the hold-out and validation
// ranges, and the forecast for the chosen date as a dashed line from the
// last known close through the predicted close of every day of the horizon,
// between the thin lines of its bands: p10 and p90 (an 80 % band), and a fan
// of every other central band the answer carries (50 %, 95 %…). The
// library draws no filled band between two series; lines stay readable over
// candles where a filled area would hide them.
//
// For tests and scripts, #chart carries data-forecast-points,
// data-band-points (how many days have a band) and data-bands (the central
// bands drawn, in percent, widest first: "95,80,50").
//
// Times are ISO days ("YYYY-MM-DD"), which the library treats as business
// days, so no time zone ever moves a bar to the neighbouring day.

import {
  createChart, CandlestickSeries, LineSeries, LineStyle, createSeriesMarkers,
} from './vendor/lightweight-charts.standalone.production.mjs';

export const COLORS = {
  up: '#0a7d4f',
  down: '#c62828',
  line: '#1f4e9c',
  holdout: '#b35c00',
  validation: '#7b1fa2',
  forecast: '#d81b60',
  band: '#00897b',
  bandWide: 'rgba(0, 137, 123, 0.55)',
  grid: '#e6e9ef',
  text: '#1f2430',
};

// quantilesOf is a forecast day's quantiles, percent level → value: its
// p10/p50/p90 fields and its "quantiles" map ({"2.5": v, "97.5": v, …}),
// keeping only finite values at levels strictly between 0 and 100.
export function quantilesOf(f) {
  const q = new Map();
  for (const [k, lv] of [['p10', 10], ['p50', 50], ['p90', 90]]) if (Number.isFinite(f[k])) q.set(lv, f[k]);
  const m = f.quantiles;
  if (m && typeof m === 'object' && !Array.isArray(m)) {
    for (const [k, v] of Object.entries(m)) {
      const lv = Number(k);
      if (Number.isFinite(lv) && lv > 0 && lv < 100 && Number.isFinite(v)) q.set(lv, v);
    }
  }
  return q;
}

// bandsOf lists the central bands that days carry: the pairs of levels
// lo and 100 − lo both present on some day, as {lo, hi, coverage}, widest
// first (2.5/97.5 is the 95 % band).
export function bandsOf(days) {
  const seen = new Map();
  for (const f of days) {
    const q = quantilesOf(f);
    for (const lo of q.keys()) {
      const hi = +(100 - lo).toPrecision(12);
      if (lo < 50 && q.has(hi)) seen.set(lo, { lo, hi, coverage: +(hi - lo).toPrecision(12) });
    }
  }
  return [...seen.values()].sort((a, b) => b.coverage - a.coverage);
}

// bandStyle is how a band's two lines look: the 80 % band (or a narrower
// one) in the full band colour, wider ones lighter and dotted, the
// narrowest (50 % or less) thicker, so that the fan reads from the centre out.
function bandStyle(coverage) {
  return {
    color: coverage <= 80 ? COLORS.band : COLORS.bandWide,
    lineWidth: coverage <= 50 ? 2 : 1,
    lineStyle: coverage > 80 ? LineStyle.Dotted : LineStyle.Solid,
  };
}

export class PriceChart {
  // el: the container; it must have a height from CSS (autoSize follows it).
  constructor(el) {
    this.el = el;
    el.priceChart = this; // for tests and scripts: the chart's options, e.g. its locale's formatters
    this.style = 'candles';
    this.bars = [];
    this.chart = createChart(el, {
      autoSize: true,
      layout: {
        background: { color: '#ffffff' },
        textColor: COLORS.text,
        fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        // The TradingView logo links to tradingview.com, as the library's
        // licence notice asks; the footer repeats the attribution in text.
        attributionLogo: true,
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, rightOffset: 4 },
      handleScroll: true,
      handleScale: true,
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
      wickUpColor: COLORS.up, wickDownColor: COLORS.down,
    });
    this.closeLine = this.chart.addSeries(LineSeries, {
      color: COLORS.line, lineWidth: 2, visible: false, priceLineVisible: false,
    });
    const overlay = (color) => this.chart.addSeries(LineSeries, {
      color, lineWidth: 2, priceLineVisible: false, lastValueVisible: false,
      crosshairMarkerRadius: 3,
    });
    this.holdout = overlay(COLORS.holdout);
    this.validation = overlay(COLORS.validation);
    this.forecast = this.chart.addSeries(LineSeries, {
      color: COLORS.forecast, lineWidth: 2, lineStyle: LineStyle.Dashed,
      pointMarkersVisible: true, pointMarkersRadius: 4, priceLineVisible: false,
      lastValueVisible: true,
    });
    this.forecastMarkers = createSeriesMarkers(this.forecast, []);
    this.bandLines = []; // [{level, series}], one per quantile of the bands drawn
  }

  // bandLine is the series drawing quantile level, created on first use
  // (its look from the band's coverage) and reused by later forecasts.
  bandLine(level, coverage) {
    let b = this.bandLines.find((x) => x.level === level);
    if (!b) {
      b = {
        level,
        series: this.chart.addSeries(LineSeries, {
          ...bandStyle(coverage), priceLineVisible: false, lastValueVisible: false,
          crosshairMarkerVisible: false,
        }),
      };
      this.bandLines.push(b);
    }
    return b.series;
  }

  // setLocale makes the axis and crosshair labels follow the page language:
  // prices through priceFormatter, the crosshair's day through dateFormatter
  // (an ISO day in, the page's date out) and the time axis's months in the
  // locale's words.
  setLocale(locale, priceFormatter, dateFormatter, labels) {
    const iso = (t) => (typeof t === 'string' ? t
      : typeof t === 'number' ? new Date(t * 1000).toISOString().slice(0, 10)
        : `${t.year}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')}`);
    this.chart.applyOptions({ localization: { locale, priceFormatter, timeFormatter: (t) => dateFormatter(iso(t)) } });
    this.el.dataset.locale = locale;
    this.holdout.applyOptions({ title: labels.holdout });
    this.validation.applyOptions({ title: labels.validation });
    this.forecastLabel = labels.forecast;
    this.forecast.applyOptions({ title: labels.forecast });
  }

  // setBars takes bars [{date, open, high, low, close}] in ascending date order.
  setBars(bars) {
    this.bars = bars;
    this.candles.setData(bars.map((b) => ({ time: b.date, open: b.open, high: b.high, low: b.low, close: b.close })));
    this.closeLine.setData(bars.map((b) => ({ time: b.date, value: b.close })));
  }

  // setPredictions takes the model's [{date, predicted}] for each range.
  setPredictions(holdout, validation) {
    const pts = (a) => (a || []).filter((p) => p && p.date && Number.isFinite(p.predicted))
      .map((p) => ({ time: p.date, value: p.predicted }));
    this.holdout.setData(pts(holdout));
    this.validation.setData(pts(validation));
  }

  // setForecast marks the forecast p (a /predict answer): a dashed line
  // from the input window's last close to the predicted close of each day
  // (p.forecasts when the answer has a horizon, else p itself), the lines
  // of every central band the days carry, and a marker on the first day.
  setForecast(p) {
    for (const b of this.bandLines) b.series.setData([]);
    if (!p) {
      this.forecast.setData([]);
      this.forecastMarkers.setMarkers([]);
      this.el.dataset.forecastPoints = '0';
      this.el.dataset.bandPoints = '0';
      this.el.dataset.bands = '';
      return;
    }
    const days = Array.isArray(p.forecasts) && p.forecasts.length
      ? p.forecasts.filter((f) => f && f.date && Number.isFinite(f.prediction))
      : [{ date: p.date, prediction: p.prediction }];
    const data = [];
    const start = p.inputs && p.inputs.to && p.inputs.to < days[0].date && Number.isFinite(p.last_close);
    if (start) data.push({ time: p.inputs.to, value: p.last_close });
    for (const f of days) data.push({ time: f.date, value: f.prediction });
    this.forecast.setData(data);
    // Each band starts at the last close too, where the uncertainty is nil.
    const qs = days.map(quantilesOf);
    const bands = bandsOf(days);
    // Only one band's lines are named on the price scale, the 80 % band
    // when there is one: six labels would bury the forecast's.
    const named = bands.some((b) => b.coverage === 80) ? 80 : bands.length ? bands[0].coverage : null;
    for (const { lo, hi, coverage } of bands) {
      for (const lv of [lo, hi]) {
        this.bandLine(lv, coverage).applyOptions({ title: coverage === named ? 'p' + lv : '' });
        const pts = [];
        days.forEach((f, i) => { if (qs[i].has(lv)) pts.push({ time: f.date, value: qs[i].get(lv) }); });
        if (pts.length && start) pts.unshift({ time: p.inputs.to, value: p.last_close });
        this.bandLine(lv, coverage).setData(pts);
      }
    }
    this.el.dataset.forecastPoints = String(days.length);
    this.el.dataset.bandPoints = String(qs.filter((q) => bands.some((b) => q.has(b.lo) && q.has(b.hi))).length);
    this.el.dataset.bands = bands.map((b) => b.coverage).join(',');
    this.forecastMarkers.setMarkers([{
      time: days[0].date, position: 'aboveBar', shape: 'arrowDown', color: COLORS.forecast,
      text: '',
    }]);
    // A one-day forecast is brought into view without losing the user's
    // zoom level; a horizon was asked for its shape, so the chart zooms to
    // it (three months before its end, enough to see the band beside the
    // recent prices, which a year's scale would squash to a few pixels).
    const end = days[days.length - 1].date;
    const ts = this.chart.timeScale();
    const r = ts.getVisibleRange();
    if (days.length > 1) this.showDays(Math.max(90, 3 * days.length), end);
    else if (r && (end > r.to || days[0].date < r.from)) this.showDays(120, end);
  }

  // setStyle switches between "candles" and "line".
  setStyle(style) {
    this.style = style === 'line' ? 'line' : 'candles';
    this.candles.applyOptions({ visible: this.style === 'candles' });
    this.closeLine.applyOptions({ visible: this.style === 'line' });
  }

  // showDays shows the last n days up to `end` (default: the last bar), or
  // everything when n is 0.
  showDays(n, end) {
    const ts = this.chart.timeScale();
    if (!this.bars.length) return;
    if (!n) { ts.fitContent(); return; }
    const last = end || this.bars[this.bars.length - 1].date;
    const from = new Date(Date.parse(last + 'T00:00:00Z') - n * 86400000).toISOString().slice(0, 10);
    const first = this.bars[0].date;
    ts.setVisibleRange({ from: from < first ? first : from, to: last });
  }
}
