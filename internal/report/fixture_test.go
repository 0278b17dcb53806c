package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixture reads testdata/name.json.
func fixture(t *testing.T, name string) *result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	require.NoError(t, err)
	var r result
	require.NoError(t, json.Unmarshal(data, &r))
	return &r
}

// decodeWith decodes testdata/name.json as change leaves it.
func decodeWith(t *testing.T, name string, change func(*result)) *Run {
	t.Helper()
	r := fixture(t, name)
	change(r)
	data, err := json.Marshal(r)
	require.NoError(t, err)
	run, err := Decode(data, name)
	require.NoError(t, err)
	return run
}
