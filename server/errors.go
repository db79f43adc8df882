package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/closecast/closecast"
)

// Machine-readable error codes of the API. Each one has exactly one HTTP
// status (see apiError.status); the OpenAPI document lists them.
const (
	codeBadJSON          = "bad_json"           // 400: malformed JSON, a known field of the wrong type, trailing data
	codeMissingDate      = "missing_date"       // 400
	codeInvalidDate      = "invalid_date"       // 400: not YYYY-MM-DD, or a bad history range
	codeOutOfRange       = "out_of_range"       // 422: the model cannot forecast that date
	codeMissingDays      = "missing_days"       // 422: the input window of that date has days without bars
	codeNonFinite        = "non_finite"         // 500: the forecast came out NaN or ±Inf (broken data or model)
	codeUnknownSymbol    = "unknown_symbol"     // 404
	codeNotFound         = "not_found"          // 404: no such path
	codeTooLarge         = "too_large"          // 413: body over maxBody
	codeMethodNotAllowed = "method_not_allowed" // 405
	codeUnavailable      = "unavailable"        // 503: provider unreachable or model not loaded
	codeInternal         = "internal"           // 500: details only in the logs
	codeNoLedger         = "no_ledger"          // 404: /api/accuracy on a server without a ledger (the Lambda)
	codeInvalidDays      = "invalid_days"       // 400: /api/accuracy's days is not a whole number in range
	codeInvalidHorizon   = "invalid_horizon"    // 400: /predict's horizon is not a whole number of days in 1..maxHorizon
	codeInvalidSamples   = "invalid_samples"    // 400: /predict's samples is not 0 or 2..maxSamples, or the model has no dropout
	codeInvalidInterval  = "invalid_interval"   // 400: /predict's interval is not auto, conformal, mc_dropout or none, or the model lacks that method
	codeInvalidQuantiles = "invalid_quantiles"  // 400: /predict's quantiles are not ascending levels in (0, 100), too many, or levels the model's quantile head lacks
)

// apiError is an error answer: the JSON body {"error","code"[,"valid"]} and
// the status, plus headers (Allow, Retry-After) and, for 500s, the cause that
// is logged but never sent.
type apiError struct {
	Status  int
	Code    string
	Message string
	Valid   *validRange // only for out_of_range
	Allow   string      // only for 405
	Retry   int         // Retry-After seconds, only for 503
	Symbols []string    // the served symbols, only for unknown_symbol
	cause   error       // logged, not sent
}

// validRange is the "valid" member of an out_of_range error: the first and
// last day the model can forecast.
type validRange struct {
	From closecast.Date `json:"from"`
	To   closecast.Date `json:"to"`
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error string      `json:"error"`
	Code  string      `json:"code"`
	Valid *validRange `json:"valid,omitempty"`
	// Symbols lists the served symbols in an unknown_symbol answer.
	Symbols []string `json:"symbols,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// defaultRetryAfter is the Retry-After, in seconds, of a 503 whose cause does
// not say when to come back (model not loaded, a provider error without a
// retry time).
const defaultRetryAfter = 30

// fromDomain maps an error of a Predictor or Source to its API error. Errors
// it does not know become a generic 500 whose cause is only logged.
func fromDomain(err error) *apiError {
	var re *closecast.RangeError
	var ge *closecast.GapError
	var ne *closecast.NonFiniteError
	var ue *closecast.UnavailableError
	switch {
	case errors.As(err, &re) && re.Empty():
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeOutOfRange, Message: re.Error()}
	case errors.As(err, &re):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeOutOfRange,
			Message: fmt.Sprintf("cannot forecast %s for %s: dates from %s to %s can be forecast", re.Symbol, re.Date, re.Earliest, re.Latest),
			Valid:   &validRange{From: re.Earliest, To: re.Latest}}
	case errors.As(err, &ge):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeMissingDays, Message: ge.Error()}
	case errors.As(err, &ne):
		return &apiError{Status: http.StatusInternalServerError, Code: codeNonFinite, Message: ne.Error(), cause: err}
	case errors.Is(err, closecast.ErrUnknownSymbol):
		return &apiError{Status: http.StatusNotFound, Code: codeUnknownSymbol, Message: err.Error()}
	case errors.As(err, &ue):
		return unavailable("the market data provider could not be reached for "+ue.Symbol+"; try again later", retrySeconds(time.Until(ue.RetryAt)), err)
	case errors.Is(err, closecast.ErrUnavailable):
		return unavailable("the market data provider could not be reached; try again later", defaultRetryAfter, err)
	case errors.Is(err, context.DeadlineExceeded):
		return unavailable("the forecast took too long; try again later", defaultRetryAfter, err)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer, but it is not a 500.
		return unavailable("the request was cancelled", defaultRetryAfter, err)
	}
	return internal(err)
}

func unavailable(msg string, retry int, cause error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: msg, Retry: retry, cause: cause}
}

func internal(cause error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal,
		Message: "internal error; the server log has the details under this request's id", cause: cause}
}

// retrySeconds rounds d up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// writeError sends e as JSON with its status and headers.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	if e.Allow != "" {
		h.Set("Allow", e.Allow)
	}
	if e.Status == http.StatusServiceUnavailable {
		r := e.Retry
		if r <= 0 {
			r = defaultRetryAfter
		}
		h.Set("Retry-After", strconv.Itoa(r))
	}
	if rw, ok := w.(*recorder); ok {
		rw.err = e
	}
	writeJSON(w, e.Status, errorBody{Error: e.Message, Code: e.Code, Valid: e.Valid, Symbols: e.Symbols})
}
