package molotov

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"
)

// Registries of many scenarios: registration, a short run, its Result and
// its JSON result all grow linearly with the scenarios.
//
//	go test -run XXX -bench Scenarios10k -benchtime 1x .
func BenchmarkScenarios10k(b *testing.B) {
	const n = 10000
	noop := func(context.Context, *Session) error { return nil }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		reg := NewRegistry()
		for j := 0; j < n; j++ {
			reg.Scenario("scenario-"+strconv.Itoa(j), 1, noop)
		}
		registered := time.Since(start)
		r := Runner{Registry: reg, Workers: 4, Duration: 200 * time.Millisecond, Quiet: true, Output: io.Discard}
		start = time.Now()
		res, err := r.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		ran := time.Since(start)
		start = time.Now()
		if err := res.WriteJSON(io.Discard); err != nil {
			b.Fatal(err)
		}
		wrote := time.Since(start)
		b.ReportMetric(registered.Seconds(), "register-s")
		b.ReportMetric(ran.Seconds(), "run-s")
		b.ReportMetric(wrote.Seconds(), "json-s")
	}
}
