package molotov

import (
	"runtime"
	"time"

	"github.com/molotov-go/molotov/internal/proccpu"
	"github.com/molotov-go/molotov/internal/ratio"
)

// CPUBusy is the share of its CPUs that the process kept busy during the
// run: CPU over Elapsed × Procs, from 0 to 1; zero when the CPU time is
// unknown, or the run too short to tell (under 100 ms). Near 1, the load
// generator was short of CPU: its own delays are part of every latency it
// measured and, in the open model, of the start lag. Lower the load
// (Rate, Workers, MaxWorkers), give the process more CPUs, or split the
// run into shares (Segment).
func (r *Result) CPUBusy() float64 { return ratio.Busy(r.CPU, r.Elapsed, r.Procs) }

// cpuMeter measures the process's CPU time over the run.
type cpuMeter struct {
	start, stop time.Duration
	procs       int
	ok          bool
}

// begin reads the CPU time at the run's time zero.
func (m *cpuMeter) begin() {
	m.start, m.ok = proccpu.Used()
	m.procs = runtime.GOMAXPROCS(0)
}

// end reads it at the run's end.
func (m *cpuMeter) end() {
	if m.ok {
		m.stop, m.ok = proccpu.Used()
	}
}

// used returns the CPU time between begin and end, and GOMAXPROCS; zeros
// when either reading failed.
func (m *cpuMeter) used() (time.Duration, int) {
	if !m.ok || m.stop < m.start {
		return 0, 0
	}
	return m.stop - m.start, m.procs
}
