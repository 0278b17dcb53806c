package quickstart

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/molotov-go/molotov"
)

// TestMain fails the package if a run leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLoad(t *testing.T) {
	srv := httptest.NewServer(NewServer())
	defer srv.Close()

	r := molotov.Runner{BaseURL: srv.URL, Workers: 10, Duration: 3 * time.Second, ConsoleUpdate: 500 * time.Millisecond}
	res := r.Test(t) // fails t if any scenario run failed; honours -molotov.* flags and MOLOTOV_* variables
	if res == nil {
		return // skipped (-short) or could not start; Test has said why
	}
	if p99 := res.Scenarios["list_items"].Latency.P99; p99 > time.Second {
		t.Errorf("list_items p99 = %v, want <= 1s", p99)
	}
	if res.OK == 0 {
		t.Errorf("no scenario run succeeded")
	}
}

// BenchmarkLoad runs the same load as a benchmark: b.N scenario runs,
// reported as req/s, runs/s, p50-ns, p99-ns and failures/op for benchstat:
//
//	go test -run XXX -bench Load -count 6 ./examples/quickstart > new.txt
//	benchstat old.txt new.txt
func BenchmarkLoad(b *testing.B) {
	srv := httptest.NewServer(NewServer())
	defer srv.Close()
	molotov.Benchmark(b, &molotov.Runner{BaseURL: srv.URL, Workers: 10})
}

// TestREADMEInSync checks that the README shows this package's load test
// as it is compiled here: loadtest.go from its import block on, and
// TestLoad.
func TestREADMEInSync(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skipf("no README to check: %v", err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var code strings.Builder
	for _, b := range blocks {
		code.WriteString(b[1])
	}
	for _, want := range []struct{ file, from, to string }{
		{"loadtest.go", "package quickstart", ""},
		{"quickstart_test.go", "func TestLoad(", "\n}\n"},
	} {
		src, err := os.ReadFile(want.file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		i := strings.Index(s, want.from)
		if i < 0 {
			t.Fatalf("%s: %q not found", want.file, want.from)
		}
		s = s[i:]
		if want.to != "" {
			s = s[:strings.Index(s, want.to)+len(want.to)]
		}
		if !strings.Contains(code.String(), s) {
			t.Errorf("README.md does not show %s as it is (from %q); copy it into the README's Go blocks:\n%s", want.file, want.from, s)
		}
	}
}
