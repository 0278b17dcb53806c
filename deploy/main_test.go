package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, or acts as kubectl when the tests run the
// test binary under that name (see kubectl_test.go). It removes what the
// tests built, and fails when a test leaves a goroutine behind.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "kubectl" {
		dir := os.Getenv(clusterEnv)
		if dir == "" {
			fmt.Fprintln(os.Stderr, "error: the test's kubectl runs with "+clusterEnv+" set")
			os.Exit(1)
		}
		os.Exit(kubectl(dir, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	removeShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
