package molotov

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ExporterFunc starts publishing a run at addr (for example a Prometheus
// endpoint) and returns the func that stops it, called when the run ends.
type ExporterFunc func(addr string, run *Run) (stop func() error, err error)

var (
	exportersMu sync.Mutex
	exporters   = map[string]ExporterFunc{}
)

// RegisterExporter makes an exporter available to runs under its name, for
// satellite packages that the core does not import: the prom package
// registers "prometheus" when imported, which -molotov.prometheus=ADDR
// then starts. Registering a name twice replaces the first.
func RegisterExporter(name string, start ExporterFunc) {
	exportersMu.Lock()
	defer exportersMu.Unlock()
	exporters[name] = start
}

// startExporters starts the exporters a run asks for; on an error it stops
// those it started.
func startExporters(run *Run, want map[string]string) (stop func(), err error) {
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	var stops []func() error
	stopAll := func() {
		for _, s := range stops {
			if err := s(); err != nil {
				run.rs.logger.Warn("exporter: " + err.Error())
			}
		}
	}
	for _, name := range names {
		exportersMu.Lock()
		start, ok := exporters[name]
		exportersMu.Unlock()
		if !ok {
			stopAll()
			return nil, configErr(strings.ToUpper(name[:1])+name[1:], "the %s exporter is not linked in: import _ %q in the load test package",
				name, "github.com/molotov-go/molotov/prom")
		}
		s, err := start(want[name], run)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("molotov: starting the %s exporter at %s: %w", name, want[name], err)
		}
		stops = append(stops, s)
	}
	return stopAll, nil
}
