package server

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/closecast/closecast"
)

// Ledger keeps the live forecasts the server answered and gives back those
// whose actual close has since arrived (a *sqlite.DB in `closecast serve`;
// none in the Lambda, whose disk does not outlive an instance).
type Ledger interface {
	// Record stores forecasts served at time at. Only Symbol, Date, Value,
	// Model, LastClose and Quantiles (the forecast distribution, which
	// /api/accuracy scores) need to be kept. Recording the same (symbol,
	// date, model) again replaces the earlier record.
	Record(ctx context.Context, at time.Time, ps []closecast.Prediction) error
	// Scored returns the recorded forecasts of symbol whose actual close is
	// known (Actual set), for the last days target days ending on the newest
	// scored one, newest first.
	Scored(ctx context.Context, symbol string, days int) ([]closecast.Prediction, error)
}

// Sizes of the ledger writer: the queue absorbs bursts while a batch is
// being written (an SQLite commit takes about a millisecond); a batch is at
// most ledgerBatch forecasts, one transaction.
const (
	ledgerQueue   = 4096
	ledgerBatch   = 256
	ledgerTimeout = 10 * time.Second
	// A batch the ledger refuses (a store busy past its timeout, say) is
	// tried ledgerAttempts times in all, waiting ledgerBackoff, then twice
	// that, … up to ledgerMaxBackoff between tries; only then is it dropped
	// and counted (closecast_ledger_failed_total). While it is retried the
	// queue fills and further forecasts are dropped and counted
	// (closecast_ledger_dropped_total): memory stays bounded by the queue.
	ledgerAttempts   = 6
	ledgerBackoff    = 250 * time.Millisecond
	ledgerMaxBackoff = 8 * time.Second
)

// ledgerEntry is one forecast waiting to be recorded.
type ledgerEntry struct {
	p  closecast.Prediction
	at time.Time
}

// ledgerWriter records forecasts off the request path: /predict puts each
// one in a buffered channel (a non-blocking send: when the queue is full the
// forecast is dropped and counted, never waited for) and one goroutine
// writes whatever has queued up as one batch. close flushes the queue.
type ledgerWriter struct {
	l    Ledger
	log  *slog.Logger
	ch   chan ledgerEntry
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// backoff is the first wait before retrying a refused batch
	// (ledgerBackoff; shorter in tests).
	backoff time.Duration

	// last is the newest forecast queued: a repeat of it in the same second
	// is not queued again, as the ledger would keep one row with the same
	// values and a requested_at equal to the second anyway. Under a burst
	// for "tomorrow" without the answer cache this keeps the writer idle.
	last atomic.Pointer[queuedKey]

	recorded atomic.Uint64 // forecasts written
	dropped  atomic.Uint64 // forecasts not queued: the queue was full
	failed   atomic.Uint64 // forecasts in batches the ledger refused ledgerAttempts times: dropped
	retries  atomic.Uint64 // retried writes of refused batches
}

func newLedgerWriter(l Ledger, log *slog.Logger) *ledgerWriter {
	w := &ledgerWriter{l: l, log: log, ch: make(chan ledgerEntry, ledgerQueue),
		stop: make(chan struct{}), done: make(chan struct{}), backoff: ledgerBackoff}
	go w.run()
	return w
}

// queuedKey is what makes two queued forecasts the same ledger write.
type queuedKey struct {
	sym, model       string
	date             closecast.Date
	value, lastClose float64
	sec              int64
}

// enqueue queues p, served at at, without blocking.
func (w *ledgerWriter) enqueue(p closecast.Prediction, at time.Time) {
	k := queuedKey{p.Symbol, p.Model, p.Date, p.Value, p.LastClose, at.Unix()}
	if prev := w.last.Load(); prev != nil && *prev == k {
		return
	}
	w.last.Store(&k)
	select {
	case w.ch <- ledgerEntry{p, at}:
	default:
		w.dropped.Add(1)
	}
}

func (w *ledgerWriter) run() {
	defer close(w.done)
	batch := make([]ledgerEntry, 0, ledgerBatch)
	for {
		select {
		case e := <-w.ch:
			batch = append(batch[:0], e)
			batch = w.drain(batch)
			w.write(batch)
		case <-w.stop:
			// Flush: the handlers have returned (Serve shut down first), so
			// what is queued now is all there will be.
			for {
				batch = w.drain(batch[:0])
				if len(batch) == 0 {
					return
				}
				w.write(batch)
			}
		}
	}
}

// drain appends queued entries to batch, without waiting, up to ledgerBatch.
func (w *ledgerWriter) drain(batch []ledgerEntry) []ledgerEntry {
	for len(batch) < ledgerBatch {
		select {
		case e := <-w.ch:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// write records batch as one transaction, keeping only the newest entry of
// each (symbol, date, model): under load without the answer cache, a burst
// of requests for "tomorrow" is one row, as the ledger would keep anyway.
func (w *ledgerWriter) write(batch []ledgerEntry) {
	type key struct {
		sym, model string
		date       closecast.Date
	}
	idx := make(map[key]int, len(batch))
	ps := make([]closecast.Prediction, 0, len(batch))
	var at time.Time
	for _, e := range batch {
		k := key{e.p.Symbol, e.p.Model, e.p.Date}
		if i, ok := idx[k]; ok {
			ps[i] = e.p
		} else {
			idx[k] = len(ps)
			ps = append(ps, e.p)
		}
		// One time for the batch, the newest: entries of a batch were
		// queued within the same write, milliseconds apart, and the ledger
		// keeps seconds.
		if e.at.After(at) {
			at = e.at
		}
	}
	wait := w.backoff
	for attempt := 1; ; attempt++ {
		err := w.record(at, ps)
		if err == nil {
			w.recorded.Add(uint64(len(ps)))
			return
		}
		stopping := false
		select {
		case <-w.stop:
			stopping = true
		default:
		}
		if attempt >= ledgerAttempts || stopping && attempt >= 2 {
			// Shutting down, a retry is tried at once, only once: close
			// must not wait through the whole back-off.
			w.failed.Add(uint64(len(ps)))
			w.log.Error("recording live forecasts in the ledger failed; dropping them", "forecasts", len(ps), "attempts", attempt, "err", err)
			return
		}
		w.log.Warn("recording live forecasts in the ledger failed; retrying", "forecasts", len(ps), "attempt", attempt, "retry_in", wait, "err", err)
		w.retries.Add(1)
		if !stopping {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.stop:
				t.Stop()
			}
		}
		wait = min(2*wait, ledgerMaxBackoff)
	}
}

// record writes one batch, bounded by ledgerTimeout.
func (w *ledgerWriter) record(at time.Time, ps []closecast.Prediction) error {
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	return w.l.Record(ctx, at, ps)
}

// close stops the writer after it has written everything queued, or when
// ctx is done, whichever comes first. It is safe to call more than once.
func (w *ledgerWriter) close(ctx context.Context) error {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes the forecasts still queued for the ledger, waiting for them
// to be written until ctx is done. Serve calls it after its graceful
// shutdown; a program that drives the handler itself (tests, the Lambda)
// calls it before closing the ledger's store. Forecasts answered after
// Close are not recorded.
func (s *Server) Close(ctx context.Context) error {
	if s.ledger == nil {
		return nil
	}
	return s.ledger.close(ctx)
}

// Bounds of /api/accuracy's days parameter.
const (
	accuracyDefaultDays = 30
	accuracyMaxDays     = 3660
	accuracyTimeout     = 5 * time.Second
)

// PendingLedger is a Ledger that counts the recorded forecasts of a symbol
// whose close is not known yet (/api/accuracy's "pending"); sqlite.DB and
// postgres.DB are.
type PendingLedger interface {
	Pending(ctx context.Context, symbol string) (int, error)
}

// accuracyResponse is the 200 body of /api/accuracy. Model and Persistence
// are null when no forecast is scored (n = 0); Rows is never null.
// Distribution scores the rows that kept their forecast distribution
// against the naive baselines; null when none did, or the server has no
// scorer (Config.Distribution).
type accuracyResponse struct {
	Symbol       string                          `json:"symbol"`
	Days         int                             `json:"days"`
	N            int                             `json:"n"`
	Pending      *int                            `json:"pending"`
	Model        *errorStats                     `json:"model"`
	Persistence  *errorStats                     `json:"persistence"`
	Distribution *closecast.DistributionAccuracy `json:"distribution"`
	Rows         []accuracyRow                   `json:"rows"`
}

// errorStats are the mean absolute error, in the symbol's currency, and the
// mean absolute percentage error, in percent of the actual close.
type errorStats struct {
	MAE  float64 `json:"mae"`
	MAPE float64 `json:"mape"`
}

// accuracyRow is one scored live forecast: Error is predicted − actual,
// PersistenceError |actual − last_close|, the error of "tomorrow closes
// where today did" on the same day. P10 and P90 are the 80 % interval of
// the recorded (base, unadapted) distribution and Covered whether the
// actual close lay in it; absent for a forecast recorded without one.
type accuracyRow struct {
	Date             closecast.Date `json:"date"`
	Predicted        float64        `json:"predicted"`
	Actual           float64        `json:"actual"`
	LastClose        float64        `json:"last_close"`
	Error            float64        `json:"error"`
	PersistenceError float64        `json:"persistence_error"`
	Model            string         `json:"model"`
	P10              *float64       `json:"p10,omitempty"`
	P90              *float64       `json:"p90,omitempty"`
	Covered          *bool          `json:"covered,omitempty"`
}

// accuracyOf summarises scored forecasts (Actual set) as the response rows
// and the model's and persistence's MAE and MAPE over them.
func accuracyOf(ps []closecast.Prediction) (rows []accuracyRow, model, persistence *errorStats) {
	rows = make([]accuracyRow, 0, len(ps))
	var m, p errorStats
	for _, x := range ps {
		if x.Actual == nil {
			continue
		}
		a := *x.Actual
		r := accuracyRow{Date: x.Date, Predicted: x.Value, Actual: a, LastClose: x.LastClose,
			Error: x.Value - a, PersistenceError: math.Abs(a - x.LastClose), Model: x.Model}
		if q := x.Quantiles; q != nil {
			lo, hi := q[closecast.DistributionP10], q[closecast.DistributionP90]
			in := lo <= a && a <= hi
			r.P10, r.P90, r.Covered = &lo, &hi, &in
		}
		rows = append(rows, r)
		m.MAE += math.Abs(r.Error)
		m.MAPE += math.Abs(r.Error) / a
		p.MAE += r.PersistenceError
		p.MAPE += r.PersistenceError / a
	}
	if len(rows) == 0 {
		return rows, nil, nil
	}
	n := float64(len(rows))
	m = errorStats{MAE: m.MAE / n, MAPE: 100 * m.MAPE / n}
	p = errorStats{MAE: p.MAE / n, MAPE: 100 * p.MAPE / n}
	return rows, &m, &p
}

// handleAccuracy serves GET /api/accuracy?symbol=&days=: the live forecasts
// of the last days scored days and their rolling errors beside persistence's.
// A server without a ledger answers 404 no_ledger: retrying cannot help, and
// the dashboard hides its panel.
func (s *Server) handleAccuracy(w http.ResponseWriter, r *http.Request) {
	if s.ledger == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: codeNoLedger,
			Message: "this server keeps no ledger of live forecasts (closecast serve keeps one in its store; the Lambda has none)"})
		return
	}
	q := r.URL.Query()
	sym, e := s.symbolParam(q.Get("symbol"))
	if e != nil {
		writeError(w, e)
		return
	}
	days := accuracyDefaultDays
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > accuracyMaxDays {
			writeError(w, badRequest(codeInvalidDays, "'days' must be a whole number of days from 1 to %d, got %s", accuracyMaxDays, quote(v)))
			return
		}
		days = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), accuracyTimeout)
	defer cancel()
	ps, err := s.cfg.Ledger.Scored(ctx, sym, days)
	if err != nil {
		writeError(w, fromDomain(err))
		return
	}
	var pending *int
	if pl, ok := s.cfg.Ledger.(PendingLedger); ok {
		n, err := pl.Pending(ctx, sym)
		if err != nil {
			writeError(w, fromDomain(err))
			return
		}
		pending = &n
	}
	rows, model, persistence := accuracyOf(ps)
	var dist *closecast.DistributionAccuracy
	if s.cfg.Distribution != nil && len(rows) > 0 {
		// A failure here loses the distribution scores, never the point
		// ones: it is logged and the key is null.
		if dist, err = s.cfg.Distribution.ScoreDistribution(ctx, sym, days); err != nil {
			s.log.Error("scoring the live forecast distributions failed", "symbol", sym, "days", days, "err", err)
			dist = nil
		}
	}
	writeJSON(w, http.StatusOK, accuracyResponse{Symbol: sym, Days: days, N: len(rows), Pending: pending, Model: model,
		Persistence: persistence, Distribution: dist, Rows: rows})
}
