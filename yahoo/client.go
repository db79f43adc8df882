// Package yahoo is a client for Yahoo Finance's chart API v8, daily bars of
// any symbol Yahoo knows (BTC-USD, ETH-USD, ^BVSP, PETR4.SA, AAPL, …).
//
// Fetch returns only final bars — the still-open current day is never among
// them — together with a Report of what was cleaned away (null bars,
// duplicate and out-of-order timestamps). Requests time out, and 429s, 5xx
// responses and network errors are retried with exponential back-off and
// full jitter; after the last try the error wraps closecast.ErrUnavailable.
// A whole fetch gives up after Client.Timeout (30 s by default). A 200 whose
// body can never parse (an HTML page, truncated JSON) fails at once: asking
// again would get the same. An answer for another symbol or in another
// currency than asked is refused (*ForeignError), and so is a bar outside
// closecast.Bar.Validate or a close beyond the jump limit: nothing absurd or
// foreign is returned. Package yahootest is a fake server for tests.
package yahoo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/closecast/closecast"
)

// DefaultBaseURL is Yahoo's own chart API host.
const DefaultBaseURL = "https://query2.finance.yahoo.com"

// EnvBaseURL is the environment variable that overrides the base URL
// (the CLI's --yahoo-url takes precedence over it).
const EnvBaseURL = "CLOSECAST_YAHOO_URL"

// DefaultUserAgent is sent unless Client.UserAgent says otherwise: Yahoo
// answers Go's default "Go-http-client/1.1" with 429s, a browser's passes.
const DefaultUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Defaults for the zero values of Client's fields.
const (
	DefaultAttempts       = 4
	DefaultAttemptTimeout = 20 * time.Second
	DefaultBackoffBase    = 1 * time.Second
	DefaultBackoffMax     = 30 * time.Second
	// DefaultTimeout bounds a whole Fetch, retries and waits included, so a
	// hanging provider cannot hold `closecast fetch` for Attempts ×
	// AttemptTimeout (80 s).
	DefaultTimeout = 30 * time.Second
	// maxBody bounds what one response may hold: 50 years of daily bars are
	// ~2 MB of JSON.
	maxBody = 64 << 20
)

// Client fetches daily bars from the chart API. The zero value is ready to
// use, with the defaults above; a Client is safe for concurrent use once its
// fields are set.
type Client struct {
	// BaseURL is the scheme and host (and optional path prefix) of the API;
	// "" means DefaultBaseURL. The CLI sets it from --yahoo-url or
	// CLOSECAST_YAHOO_URL; tests point it at a yahootest.Server.
	BaseURL string
	// HTTPClient sends the requests; nil means a client of its own. Its
	// Timeout, if any, applies on top of AttemptTimeout.
	HTTPClient *http.Client
	// UserAgent; "" means DefaultUserAgent.
	UserAgent string
	// Attempts is the most requests one Fetch makes (first try included);
	// 0 means DefaultAttempts.
	Attempts int
	// AttemptTimeout bounds each request, body included; 0 means
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Timeout bounds a whole Fetch, every attempt and back-off included; 0
	// means DefaultTimeout. The caller's ctx may end it sooner.
	Timeout time.Duration
	// Currency is the currency the answer must be quoted in; "" derives it
	// from the ticker: the quote currency of a pair such as BTC-USD or
	// ETH-EUR (three letters after the last '-'), none for other tickers
	// (AAPL, PETR4.SA: their currency is the exchange's). The answer's
	// meta.symbol must always be the symbol asked for.
	Currency string
	// MaxJump is the largest factor allowed between consecutive closes (see
	// closecast.CheckJumps); 0 means closecast.MaxJump().
	MaxJump float64
	// BackoffBase and BackoffMax shape the wait before retry n (n = 1, 2, …):
	// a uniformly random duration in [0, min(BackoffMax, BackoffBase·2^(n−1))]
	// ("full jitter", so that many clients hit by one outage do not retry in
	// lockstep), but never less than the server's Retry-After. A Retry-After
	// beyond BackoffMax ends the fetch at once with an UnavailableError
	// saying so, rather than blocking a command for an hour.
	BackoffBase, BackoffMax time.Duration
	// Now is the clock that decides which days are over; nil means time.Now.
	Now func() time.Time
	// OnRetry, if set, is called before each wait for a retry with the
	// number of the attempt that failed, its error and the wait, so a CLI
	// can print "attempt 1 failed (HTTP 429), retrying in 1.2s".
	OnRetry func(attempt int, err error, wait time.Duration)
}

var _ closecast.Source = (*Client)(nil)

// Result is what Fetch returns: final, validated bars, ascending by date
// (exchange calendar days), and the report of what was left out.
type Result struct {
	Bars   []closecast.Bar
	Report Report
}

// UnavailableError is Fetch's error when every attempt failed: it says how
// many were made and what went wrong last, and wraps both
// closecast.ErrUnavailable and the last attempt's error.
type UnavailableError struct {
	Symbol   string
	Attempts int
	Status   int    // HTTP status of the last attempt; 0 if none came back
	Reason   string // why the fetch stopped before using all attempts, if it did
	Last     error
}

// Error says which symbol, how many attempts and what went wrong last.
func (e *UnavailableError) Error() string {
	s := fmt.Sprintf("yahoo: %s unavailable after %d attempt", e.Symbol, e.Attempts)
	if e.Attempts != 1 {
		s += "s"
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s + "; last: " + strings.TrimPrefix(e.Last.Error(), "yahoo: ")
}

// Unwrap returns closecast.ErrUnavailable and the last attempt's error.
func (e *UnavailableError) Unwrap() []error { return []error{closecast.ErrUnavailable, e.Last} }

// StatusError is a non-2xx response without a chart.error body.
type StatusError struct {
	Status int
	Body   string // the start of the body, for the message
}

// Error reads "yahoo: HTTP 403 Forbidden: <start of body>".
func (e *StatusError) Error() string {
	s := fmt.Sprintf("yahoo: HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// attemptError is one failed attempt and what to do about it.
type attemptError struct {
	err        error
	status     int
	retry      bool
	retryAfter time.Duration
}

// Bars implements closecast.Source: Fetch, then the bars as a Series.
func (c *Client) Bars(ctx context.Context, symbol string, from, to closecast.Date) (closecast.Series, error) {
	res, err := c.Fetch(ctx, symbol, from, to)
	if err != nil {
		return closecast.Series{}, err
	}
	return closecast.NewSeries(symbol, res.Bars)
}

// Fetch downloads the daily bars of symbol dated within [from, to] (the
// exchange's calendar days; UTC days for crypto) and returns the final ones.
// It asks Yahoo for a day more on each side, because an exchange east of UTC
// stamps its bars on the previous UTC day and one west of it later in the day,
// then keeps exactly [from, to].
//
// Errors: Yahoo's chart.error as an *APIError ("yahoo: Not Found: No data
// found, symbol may be delisted", wrapping closecast.ErrUnknownSymbol), a
// 4xx other than 429 as a *StatusError, a 200 that is not a chart response
// (wrapping ErrMalformed), an answer for another symbol or currency as a
// *ForeignError, all without retrying; a bar failing validation or the jump
// limit as a *BarError; and after retries are used up (or the deadline
// leaves no time for the next one) an *UnavailableError wrapping
// closecast.ErrUnavailable. On error no bars are returned.
func (c *Client) Fetch(ctx context.Context, symbol string, from, to closecast.Date) (Result, error) {
	if strings.TrimSpace(symbol) == "" {
		return Result{}, errors.New("yahoo: empty symbol")
	}
	if from > to {
		return Result{}, fmt.Errorf("yahoo: empty range %s..%s", from, to)
	}
	maxJump := c.MaxJump
	if maxJump <= 0 {
		var err error
		if maxJump, err = closecast.MaxJump(); err != nil {
			return Result{}, fmt.Errorf("yahoo: %w", err)
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := c.chartURL(symbol, from, to)
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	for n := 1; ; n++ {
		chart, ae := c.attempt(ctx, u)
		if ae == nil {
			if err := c.checkMeta(symbol, chart.Meta); err != nil {
				return Result{}, err
			}
			bars, rep, err := chart.Bars(symbol, from, to, c.now())
			rep.Attempts = n
			if err != nil {
				return Result{}, err
			}
			if err := closecast.CheckJumps(bars, maxJump); err != nil {
				var be *closecast.BarError
				errors.As(err, &be)
				return Result{}, &BarError{Symbol: symbol, Date: be.Date, Err: be.Err}
			}
			return Result{Bars: bars, Report: rep}, nil
		}
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return Result{}, fmt.Errorf("yahoo: %s: %w", symbol, ctx.Err())
			}
			return Result{}, &UnavailableError{Symbol: symbol, Attempts: n, Status: ae.status,
				Reason: c.deadlineReason(timeout), Last: ae.err}
		}
		if !ae.retry {
			return Result{}, ae.err
		}
		if n == attempts {
			return Result{}, &UnavailableError{Symbol: symbol, Attempts: n, Status: ae.status, Last: ae.err}
		}
		wait := c.backoff(n)
		if ae.retryAfter > c.backoffMax() {
			return Result{}, &UnavailableError{Symbol: symbol, Attempts: n, Status: ae.status,
				Reason: fmt.Sprintf("server asks to retry after %v, more than the %v back-off limit", ae.retryAfter, c.backoffMax()), Last: ae.err}
		}
		if ae.retryAfter > wait {
			wait = ae.retryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return Result{}, &UnavailableError{Symbol: symbol, Attempts: n, Status: ae.status,
				Reason: fmt.Sprintf("next try due in %v, after the deadline", wait.Round(time.Millisecond)), Last: ae.err}
		}
		if c.OnRetry != nil {
			c.OnRetry(n, ae.err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return Result{}, fmt.Errorf("yahoo: %s: %w", symbol, ctx.Err())
			}
			return Result{}, &UnavailableError{Symbol: symbol, Attempts: n, Status: ae.status,
				Reason: c.deadlineReason(timeout), Last: ae.err}
		}
	}
}

// deadlineReason says which deadline ended a fetch.
func (c *Client) deadlineReason(timeout time.Duration) string {
	return fmt.Sprintf("deadline exceeded: the fetch timeout is %v", timeout)
}

// ForeignError is an answer about something other than what was asked: the
// symbol or the currency of meta differs from the request. Storing it would
// mix another market's prices into this one's.
type ForeignError struct {
	Field     string // "symbol" or "currency"
	Symbol    string // the symbol asked for
	Want, Got string
}

// Error names both: "yahoo: asked for BTC-USD, the answer is for ETH-USD".
func (e *ForeignError) Error() string {
	if e.Field == "symbol" {
		return fmt.Sprintf("yahoo: asked for %s, the answer is for %q; refused", e.Want, e.Got)
	}
	return fmt.Sprintf("yahoo: asked for %s in %s, the answer is in %q; refused", e.Symbol, e.Want, e.Got)
}

// ExpectedCurrency returns the currency a ticker is quoted in when the
// ticker says so: the three letters after the last '-' of a pair (BTC-USD →
// USD), else "" (unknown, not checked).
func ExpectedCurrency(symbol string) string {
	i := strings.LastIndexByte(symbol, '-')
	if i < 1 || len(symbol)-i-1 != 3 {
		return ""
	}
	cur := strings.ToUpper(symbol[i+1:])
	for _, r := range cur {
		if r < 'A' || r > 'Z' {
			return ""
		}
	}
	return cur
}

// checkMeta refuses an answer for another symbol or in another currency.
func (c *Client) checkMeta(symbol string, m Meta) error {
	if !strings.EqualFold(m.Symbol, symbol) {
		return &ForeignError{Field: "symbol", Symbol: symbol, Want: symbol, Got: m.Symbol}
	}
	want := c.Currency
	if want == "" {
		want = ExpectedCurrency(symbol)
	}
	if want != "" && !strings.EqualFold(m.Currency, want) {
		return &ForeignError{Field: "currency", Symbol: symbol, Want: want, Got: m.Currency}
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// chartURL builds {base}/v8/finance/chart/{symbol}?… . The symbol is one
// escaped path segment, so ^BVSP goes out as %5EBVSP and no symbol can
// change the path.
func (c *Client) chartURL(symbol string, from, to closecast.Date) string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	q := url.Values{}
	// period1 and period2 are both inclusive bar start times.
	q.Set("period1", strconv.FormatInt(from.AddDays(-1).Unix(), 10))
	q.Set("period2", strconv.FormatInt(to.AddDays(2).Unix()-1, 10))
	q.Set("interval", "1d")
	q.Set("events", "div|split")
	q.Set("includePrePost", "false")
	return strings.TrimRight(base, "/") + "/v8/finance/chart/" + url.PathEscape(symbol) + "?" + q.Encode()
}

// backoff is the full-jitter wait before retry n.
func (c *Client) backoff(n int) time.Duration {
	base, max := c.BackoffBase, c.backoffMax()
	if base <= 0 {
		base = DefaultBackoffBase
	}
	ceil := max
	if n-1 < 62 && base <= max>>(n-1) {
		ceil = base << (n - 1)
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func (c *Client) backoffMax() time.Duration {
	if c.BackoffMax <= 0 {
		return DefaultBackoffMax
	}
	return c.BackoffMax
}

// attempt makes one request and decodes the answer.
func (c *Client) attempt(ctx context.Context, u string) (*Chart, *attemptError) {
	timeout := c.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &attemptError{err: fmt.Errorf("yahoo: %w", err)}
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	netErr := func(err error) *attemptError {
		if actx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %v: %w", timeout, context.DeadlineExceeded)
		}
		return &attemptError{err: fmt.Errorf("yahoo: %w", err), retry: true}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, netErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		ae := netErr(fmt.Errorf("reading body: %w", err))
		ae.status = resp.StatusCode
		return nil, ae
	}
	if len(body) > maxBody {
		return nil, &attemptError{status: resp.StatusCode, err: fmt.Errorf("yahoo: response larger than %d bytes", maxBody)}
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusTooManyRequests || st >= 500:
		// Retry-After is about the wall clock, not the injectable Now.
		ae := &attemptError{status: st, retry: true, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
		ae.err = statusErr(st, body)
		return nil, ae
	case st < 200 || st > 299:
		return nil, &attemptError{status: st, err: statusErr(st, body)}
	}
	chart, err := Decode(body)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			apiErr.Status = st
			return nil, &attemptError{status: st, err: err}
		}
		// A 200 whose body is not a chart (an HTML page, a proxy's error,
		// JSON cut short while the length matched) is what the server
		// serves: asking again gets the same. A connection cut mid-body is
		// a read error above, and that is retried.
		return nil, &attemptError{status: st, err: err}
	}
	return chart, nil
}

// statusErr is the error of a non-2xx response: Yahoo's chart.error when the
// body holds one, else the status and the start of the body.
func statusErr(status int, body []byte) error {
	if _, err := Decode(body); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			apiErr.Status = status
			return apiErr
		}
	}
	snippet := strings.TrimSpace(string(body))
	if len(snippet) > 120 {
		snippet = snippet[:120] + "…"
	}
	return &StatusError{Status: status, Body: strings.ToValidUTF8(snippet, "?")}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
