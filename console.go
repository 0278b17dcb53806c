package molotov

import (
	"bytes"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/molotov-go/molotov/internal/console"
	"github.com/molotov-go/molotov/internal/dump"
	"github.com/molotov-go/molotov/internal/ratio"
)

// newLogger returns cfg.Logger, or a console logger writing through the
// run's console: warnings and errors always, failures with Verbose >= 1.
func newLogger(cfg Runner, c *console.Console) *zap.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	if cfg.Quiet {
		return zap.NewNop()
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.TimeKey = ""
	ec.CallerKey = ""
	ec.StacktraceKey = ""
	level := zapcore.WarnLevel
	if cfg.Verbose >= 1 {
		level = zapcore.DebugLevel
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(ec), zapcore.AddSync(c), level)
	return zap.New(core)
}

// startConsole draws the live line until the returned func is called.
func (rs *runState) startConsole() func() {
	if rs.cfg.Quiet {
		return func() {}
	}
	every := rs.cfg.ConsoleUpdate
	if every == 0 {
		every = 5 * time.Second
		if console.IsTerminal(rs.cfg.Output) {
			every = 200 * time.Millisecond
		}
	}
	return rs.console.Live(every, rs.liveLine)
}

// liveLine is the live status, or "" when there is nothing to show: no
// worker started and no run ended yet, or every worker ended (the summary
// that follows has the final figures).
func (rs *runState) liveLine() string {
	if rs.elapsed.Load() > 0 {
		return ""
	}
	ok, failed, active := rs.stats.ok.Load(), rs.stats.failed.Load(), rs.stats.active.load()
	if ok+failed == 0 && active == 0 {
		return ""
	}
	elapsed := time.Since(rs.start)
	busy := -1 // the closed model: every active worker is busy
	if rs.open != nil {
		busy = int(rs.stats.busy.load())
	}
	return console.LiveLine(ok, failed, int(active), busy, elapsed, ratio.PerSecond(ok+failed, elapsed))
}

// dumpRequest and dumpResponse print Verbose 2 dumps, secrets redacted.
func (rs *runState) dumpRequest(req *http.Request) {
	var b bytes.Buffer
	if err := dump.Request(&b, req, dump.Limit, rs.stats.errs.rules); err != nil {
		b.WriteString("[dump failed: " + err.Error() + "]\n")
	}
	rs.printDump(b.String())
}

func (rs *runState) dumpResponse(resp *http.Response) {
	var b bytes.Buffer
	if err := dump.Response(&b, resp, dump.Limit, rs.stats.errs.rules); err != nil {
		b.WriteString("[dump failed: " + err.Error() + "]\n")
	}
	rs.printDump(b.String())
}

func (rs *runState) printDump(s string) {
	if rs.cfg.Logger != nil {
		rs.logger.Debug("http dump", zap.String("dump", s))
		return
	}
	rs.console.Println(strings.TrimRight(s, "\n"))
}

// summaryOf converts a Result for the console's summary table.
func summaryOf(res *Result) console.Summary {
	rate := func(n int64) float64 { return ratio.PerSecond(n, res.Elapsed) }
	s := console.Summary{
		Elapsed: res.Elapsed, Started: res.Started, OK: res.OK, Failed: res.Failed,
		SetupFailed: res.SetupFailed, MaxWorkers: res.MaxWorkers, PeakBusy: res.PeakBusy, StopReason: string(res.StopReason),
		Scheduled: res.Scheduled, Dropped: res.Dropped,
		StartLag: [3]time.Duration{res.StartLag.P50, res.StartLag.P99, res.StartLag.Max},
		CPU:      res.CPU, Procs: res.Procs, Connections: res.Connections,
	}
	if n := targetDown(res); n != "" {
		s.Notes = append(s.Notes, n)
	}
	for _, name := range sortedKeys(res.Scenarios) {
		sc := res.Scenarios[name]
		s.Scenarios = append(s.Scenarios, console.ScenarioRow{
			Name: name, OK: sc.OK, Failed: sc.Failed, Rate: rate(sc.OK + sc.Failed),
			P50: sc.Latency.P50, P90: sc.Latency.P90, P99: sc.Latency.P99, Max: sc.Latency.Max,
			ServiceP50: sc.ServiceTime.P50, ServiceP90: sc.ServiceTime.P90, ServiceP99: sc.ServiceTime.P99, ServiceMax: sc.ServiceTime.Max,
		})
	}
	for _, name := range sortedKeys(res.Requests) {
		r := res.Requests[name]
		s.Requests = append(s.Requests, console.RequestRow{
			Name: name, Count: r.Count, Errors: r.Errors, Rate: rate(r.Count),
			P50: r.Latency.P50, P90: r.Latency.P90, P99: r.Latency.P99, Max: r.Latency.Max, Status: r.Status,
		})
	}
	for _, e := range res.Errors {
		s.Errors = append(s.Errors, console.ErrorRow{Error: e.Error, Count: e.Count})
	}
	for _, tr := range res.Thresholds {
		s.Thresholds = append(s.Thresholds, console.ThresholdRow{Expr: tr.Expr, Measured: tr.measured(), Pass: tr.Pass})
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
