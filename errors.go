package molotov

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// StatusError reports a response whose status was not the expected one.
type StatusError struct {
	Got         int   // the status received; 0 when there was no response
	Want        []int // the statuses expected; empty means any 2xx
	Method, URL string
	// Name is the request's name given with WithRequestName, if any
	// ("GET /items/{id}"). The message then names the request by it
	// instead of its URL, so that the run's errors count one cause once
	// rather than once per id.
	Name string
}

func (e *StatusError) Error() string {
	want := "2xx"
	if len(e.Want) > 0 {
		parts := make([]string, len(e.Want))
		for i, c := range e.Want {
			parts[i] = strconv.Itoa(c)
		}
		want = strings.Join(parts, " or ")
	}
	if e.Got == 0 {
		return "molotov: no response, want status " + want
	}
	if e.Name != "" {
		return fmt.Sprintf("molotov: %s: status %d %s, want %s", e.Name, e.Got, http.StatusText(e.Got), want)
	}
	return fmt.Sprintf("molotov: %s %s: status %d %s, want %s", e.Method, e.URL, e.Got, http.StatusText(e.Got), want)
}

// ResponseTooLargeError reports a response body longer than
// Runner.MaxResponseBytes.
type ResponseTooLargeError struct {
	Limit   int64
	Request string // the request's name, "GET /items"
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("molotov: %s: response body larger than MaxResponseBytes (%d bytes); raise Runner.MaxResponseBytes to read it", e.Request, e.Limit)
}

// BodyError reports a response body that broke off while it was read (a
// reset, a body shorter than its Content-Length), naming the request.
type BodyError struct {
	Request string // the request's name, "GET /items"
	Err     error  // net/http's error, such as io.ErrUnexpectedEOF
}

func (e *BodyError) Error() string {
	return "molotov: " + e.Request + ": reading the response body: " + e.Err.Error()
}

func (e *BodyError) Unwrap() error { return e.Err }

// TimeoutError reports a request that did not complete within its
// timeout (SessionConfig.Timeout or Runner.RequestTimeout), body included.
type TimeoutError struct {
	Method, URL string
	// Name is the request's name given with WithRequestName, if any: the
	// message then names the request by it instead of its URL, as
	// StatusError's does.
	Name  string
	Limit time.Duration // the timeout that struck
	Body  bool          // the timeout struck while reading the body
	Err   error
}

func (e *TimeoutError) Error() string {
	where := "waiting for the response"
	if e.Body {
		where = "reading the response body"
	}
	target := ""
	switch {
	case e.Name != "":
		target = " " + e.Name + ":"
	case e.Method != "":
		target = " " + e.Method + " " + e.URL + ":"
	}
	return fmt.Sprintf("molotov:%s request timeout (%v) hit while %s; raise Runner.RequestTimeout if the target is meant to be this slow", target, e.Limit, where)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, so net.Error-style checks see a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// ConfigError reports a Runner option that cannot work, naming the field
// and how to fix it. Run returns it before anything starts.
type ConfigError struct {
	Field string // "Workers", "SingleMode", ... or "Registry"
	Msg   string
}

func (e *ConfigError) Error() string {
	return "molotov: bad configuration: " + e.Field + ": " + e.Msg
}

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// PanicError is the failure recorded when a scenario or a fixture panics.
// Its message names where the panic happened, from Stack: the first frame
// below the call to panic that is neither the runtime's nor molotov's,
// "panic: boom (at cart.go:42)".
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string {
	if at := panicSite(e.Stack); at != "" {
		return fmt.Sprintf("panic: %v (at %s)", e.Value, at)
	}
	return fmt.Sprintf("panic: %v", e.Value)
}

func newPanicError(v any) *PanicError {
	buf := make([]byte, 16<<10)
	buf = buf[:runtime.Stack(buf, false)]
	return &PanicError{Value: v, Stack: buf}
}

// errGoexitFixture is the error of a fixture that called runtime.Goexit.
var errGoexitFixture = errors.New("ended by runtime.Goexit (t.FailNow or require?); return an error instead")

// errGoexitPicker is the failure of a step whose ScenarioPicker called
// runtime.Goexit.
var errGoexitPicker = errors.New("molotov: ScenarioPicker ended by runtime.Goexit (t.FailNow or require?); return a scenario's name instead")

var errGoexit = errors.New("molotov: scenario run ended by runtime.Goexit (t.FailNow or require in a scenario or event handler?); return an error instead")

// InvalidStatusError reports a response whose status code is outside
// 100-599 (HTTP/1.1 "000" or "999"): the request fails with it, and the
// code is counted in RequestStats.Status as the server sent it.
type InvalidStatusError struct {
	Status int
}

func (e *InvalidStatusError) Error() string {
	return fmt.Sprintf("molotov: the server sent status %03d, outside 100-599: not an HTTP status", e.Status)
}

// ErrSetupInterrupted is in the error that Run returns when its context
// was cancelled (by a signal, under Runner.Test) during GlobalSetup: no
// worker started.
var ErrSetupInterrupted = errors.New("interrupted during GlobalSetup, before any worker started")

// namedError carries the name of the request that failed with err
// (WithRequestName) inside the *url.Error that http.Client wraps around a
// transport's error, so that the run's errors count the failures of a
// named request under its name instead of once per URL (errorCounter).
// It is otherwise transparent: its message, Timeout and Temporary are
// err's, and errors.Is and errors.As see through it.
type namedError struct {
	name string
	err  error
}

func (e *namedError) Error() string { return e.err.Error() }

func (e *namedError) Unwrap() error { return e.err }

func (e *namedError) Timeout() bool {
	t, ok := e.err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

func (e *namedError) Temporary() bool {
	t, ok := e.err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}
