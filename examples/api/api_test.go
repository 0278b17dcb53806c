package api

import (
	"net/http/httptest"
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
	api := NewServer()
	srv := httptest.NewServer(api)
	defer srv.Close()

	r := molotov.Runner{Registry: Registry, BaseURL: srv.URL, Workers: 5, Duration: 2 * time.Second, ConsoleUpdate: time.Second}
	res := r.Test(t) // fails t on any failed run or fixture
	if res == nil {
		return // skipped (-short) or could not start; Test has said why
	}
	if res.Failed > 0 || res.SetupFailed > 0 {
		t.Errorf("failed runs = %d, failed setups = %d; want none", res.Failed, res.SetupFailed)
	}
	for _, name := range []string{"create_item", "read_items", "admin_stats"} {
		if st := res.Scenarios[name]; st.OK == 0 {
			t.Errorf("scenario %s never succeeded (%d failures)", name, st.Failed)
		}
	}
	// The teardowns cleaned up: every worker logged out in its
	// TeardownSession, and GlobalTeardown logged the admin out.
	if st := api.Stats(); st.Sessions != 0 {
		t.Errorf("after the run the API holds %d sessions, want 0", st.Sessions)
	}
}
