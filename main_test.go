package molotov

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind: no
// worker, console or connection goroutine may outlive a run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
