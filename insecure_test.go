package molotov

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TLS verification is on by default: a self-signed target fails every
// run with an error that names the certificate. InsecureSkipVerify (and
// -molotov.insecure) accepts it, with a warning line.
func TestInsecureSkipVerify(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(sbOK))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/") })

	var out lockedBuffer
	res, err := (&Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Output: &out}).Run(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, res.Failed)
	require.NotEmpty(t, res.Errors)
	assert.Contains(t, res.Errors[0].Error, "certificate")
	assert.NotContains(t, out.String(), "verification is OFF")

	var out2 lockedBuffer
	res, err = (&Runner{Registry: reg, BaseURL: srv.URL, MaxRuns: 2, Output: &out2, InsecureSkipVerify: true}).Run(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, res.OK, "errors: %v", res.Errors)
	assert.Equal(t, 1, strings.Count(out2.String(), "TLS certificate verification is OFF"), "one warning line:\n%s", out2.String())

	clearMolotovEnv(t)
	t.Setenv("MOLOTOV_INSECURE", "true")
	r, err := (*FlagSet)(nil).Apply(Runner{})
	require.NoError(t, err)
	assert.True(t, r.InsecureSkipVerify)
}
