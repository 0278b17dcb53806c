package prom

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricNamesDocumented checks the Prometheus column of the metric
// table in docs/metrics.md against what Collector describes: every
// metric listed, with its labels, and nothing else.
func TestMetricNamesDocumented(t *testing.T) {
	const doc = "../docs/metrics.md"
	src, err := os.ReadFile(doc)
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(src), "\n## Names\n")
	require.True(t, ok, "%s has no \"## Names\" section", doc)
	table, _, _ = strings.Cut(table, "\n## ")

	// `molotov_requests_total{request, status="error"}`: the name, and
	// the labels without their values.
	listed := map[string]map[string]bool{}
	for _, m := range regexp.MustCompile("`(molotov_[a-z_]+)(?:\\{([^}`]*)\\})?`").FindAllStringSubmatch(table, -1) {
		if listed[m[1]] == nil {
			listed[m[1]] = map[string]bool{}
		}
		for _, l := range strings.Split(m[2], ",") {
			if l, _, _ = strings.Cut(strings.TrimSpace(l), "="); l != "" {
				listed[m[1]][l] = true
			}
		}
	}
	require.NotEmpty(t, listed, "%s: no Prometheus names in the table under \"## Names\"", doc)

	ch := make(chan *prometheus.Desc, 32)
	(&Collector{}).Describe(ch)
	close(ch)
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	described := map[string]bool{}
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		require.NotNil(t, m, "cannot read %s", d)
		name := m[1]
		described[name] = true
		labels, ok := listed[name]
		if !assert.True(t, ok, "%s does not list %s; add it to the Prometheus column", doc, name) {
			continue
		}
		var want, got []string
		for _, l := range strings.Split(m[2], ",") {
			if l != "" {
				want = append(want, l)
			}
		}
		for l := range labels {
			got = append(got, l)
		}
		sort.Strings(want)
		sort.Strings(got)
		assert.Equal(t, want, got, "%s: the labels of %s", doc, name)
	}
	for name := range listed {
		assert.True(t, described[name], "%s lists %s, which the Collector does not describe; fix or remove it", doc, name)
	}
}
