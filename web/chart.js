// chart.js: the price chart, built on the vendored TradingView Lightweight
// Charts (see vendor/README.md). It shows daily bars as candles or a close
// line, the model's one-step-ahead predictions on the hold-out and validation
// ranges, and the forecast for the chosen date as a dashed segment from the
// last known close to the predicted close.
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
  grid: '#e6e9ef',
  text: '#1f2430',
};

export class PriceChart {
  // el: the container; it must have a height from CSS (autoSize follows it).
  constructor(el) {
    this.el = el;
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
  }

  // setLocale makes the axis labels follow the page language.
  setLocale(locale, priceFormatter, labels) {
    this.chart.applyOptions({ localization: { locale, priceFormatter } });
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

  // setForecast marks the forecast p (a /predict answer): a dashed segment
  // from the input window's last close to the predicted close, and, when the
  // actual close is known, a marker for it.
  setForecast(p) {
    if (!p) { this.forecast.setData([]); this.forecastMarkers.setMarkers([]); return; }
    const data = [];
    if (p.inputs && p.inputs.to && p.inputs.to < p.date && Number.isFinite(p.last_close)) {
      data.push({ time: p.inputs.to, value: p.last_close });
    }
    data.push({ time: p.date, value: p.prediction });
    this.forecast.setData(data);
    this.forecastMarkers.setMarkers([{
      time: p.date, position: 'aboveBar', shape: 'arrowDown', color: COLORS.forecast,
      text: '',
    }]);
    // Bring the forecast into view without losing the user's zoom level.
    const ts = this.chart.timeScale();
    const r = ts.getVisibleRange();
    if (r && (p.date > r.to || p.date < r.from)) this.showDays(120, p.date);
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
