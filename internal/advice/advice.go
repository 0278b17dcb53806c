// Package advice holds what molotov-go tells its users to do about a
// run's figures, in the same words in the console summary and in the
// HTML report.
package advice

import "fmt"

// ShortOfCPU is the share of its CPUs (molotov.Result.CPUBusy) from which
// a run's process is taken to have been short of CPU, so that its own
// delays are part of the figures it measured. Locust warns at 90% of a
// CPU too.
const ShortOfCPU = 0.9

// ShortOfCPUText is what to do about a run whose process was short of
// CPU.
const ShortOfCPUText = "The process was short of CPU: its own delays are part of the latencies (and start lags) measured. Lower the load, give it more CPUs (GOMAXPROCS), or split the run into shares (Segment)."

// PoolExhausted is what to do when the open model's pool was all busy and
// starts were dropped: raise MaxWorkers when the process had CPU to
// spare; when it was short of CPU (shortOfCPU), the pool ran out because
// the generator fell behind, and more workers would not help.
func PoolExhausted(shortOfCPU bool) string {
	if shortOfCPU {
		return "more workers would not help, as the process was short of CPU"
	}
	return "raise MaxWorkers, or compare the latency with the service time to see whether the target slowed"
}

// Churning reports whether most of a run's requests opened a connection
// (molotov.Result.Connections), beyond the first one of each of its
// sessions (molotov.Result.MaxWorkers): more new connections than reused
// ones, over enough requests to tell.
func Churning(conns, requests, sessions int64) bool {
	extra, later := conns-sessions, requests-sessions
	return later >= churnMinRequests && 2*extra > later
}

// churnMinRequests is how many requests beyond the sessions' first a run
// needs before Churning judges it.
const churnMinRequests = 100

// ChurningText is what to do about a run whose requests opened about a
// connection each.
const ChurningText = "Most requests opened a new connection, which costs the generator and the target a dial (and a TLS handshake) each. Connections are kept when the target does not close them (Connection: close), when scenarios read each response body to its end before closing it, and when a session sends no more requests at once than its transport keeps open (MaxIdleConnsPerHost, 16; see SessionConfig.ConfigureTransport)."

// PoolOversized reports whether the open model's pool (MaxWorkers) was far
// larger than the load needed: no start dropped, and a peak of busy
// workers at most a quarter of a pool of 20 or more. Every session of the
// pool is set up (and logs in, when SetupSession does) before the first
// start.
func PoolOversized(peakBusy, pool int, dropped int64) bool {
	return dropped == 0 && pool >= 20 && peakBusy > 0 && 4*peakBusy <= pool
}

// PoolOversizedText is what to do about an oversized pool whose peak of
// busy workers was peakBusy.
func PoolOversizedText(peakBusy int) string {
	return fmt.Sprintf("a pool a little above %d (MaxWorkers) would serve this load with fewer sessions to set up", peakBusy)
}
