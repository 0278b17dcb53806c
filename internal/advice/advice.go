// Package advice holds what molotov-go tells its users to do about a
// run's figures, in the same words in the console summary and in the
// HTML report.
package advice

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

// Churning reports whether a run opened about one connection per request
// (molotov.Result.Connections): at least one for every two requests,
// over enough requests to tell.
func Churning(conns, requests int64) bool {
	return requests >= churnMinRequests && 2*conns >= requests
}

// churnMinRequests is how many requests a run needs before Churning
// judges it: below, a pool's first dials are most of its connections.
const churnMinRequests = 100

// ChurningText is what to do about a run whose requests opened about a
// connection each.
const ChurningText = "Most requests opened a new connection, which costs the generator and the target a dial (and a TLS handshake) each. Connections are kept when the target does not close them (Connection: close), when scenarios read each response body to its end before closing it, and when a session sends no more requests at once than its transport keeps open (MaxIdleConnsPerHost, 16; see SessionConfig.ConfigureTransport)."
