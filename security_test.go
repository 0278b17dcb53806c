package molotov

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A password in BaseURL and a token in the session's headers reach the
// target but never the console, the summary, the errors or the JSON
// result.
func TestSecretsStayOutOfOutputs(t *testing.T) {
	const password, token = "pa55-SECRET-word", "tok-SECRET-9876"
	var gotAuth []string
	srv := sbServer(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		gotAuth = append(gotAuth, u+":"+p+"|"+r.Header.Get("X-Token"))
		w.WriteHeader(http.StatusTeapot) // failures, so errors are printed too
	})
	base := strings.Replace(srv.URL, "http://", "http://user:"+password+"@", 1)
	reg := sbOneScenario("get", func(ctx context.Context, s *Session) error { return sbGet(ctx, s, "/x") })
	reg.Setup(func(ctx context.Context, worker int, r *Runner) (*SessionConfig, error) {
		return &SessionConfig{Header: http.Header{"X-Token": {token}, "Authorization": {"Bearer " + token}}}, nil
	})
	var out lockedBuffer
	res, err := (&Runner{Registry: reg, BaseURL: base, MaxRuns: 2, Verbose: 1, ConsoleUpdate: time.Hour, Output: &out}).Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2, res.Failed)
	require.NotEmpty(t, gotAuth, "the target was reached")

	var js bytes.Buffer
	require.NoError(t, res.WriteJSON(&js))
	var errs strings.Builder
	for _, e := range res.Errors {
		errs.WriteString(e.Error + "\n")
	}
	for name, text := range map[string]string{"console and summary": out.String(), "JSON result": js.String(), "Result.Errors": errs.String()} {
		assert.NotContains(t, text, password, name)
		assert.NotContains(t, text, token, name)
	}
	assert.Contains(t, out.String(), "status 418", "the failures are printed")
}

// The session's cookie jar knows the public suffixes, as browsers do: a
// cookie set by shop.example.co.uk for the whole of co.uk is refused, so
// it never reaches another site under co.uk.
func TestCookieJarRefusesPublicSuffixDomains(t *testing.T) {
	var j lazyJar
	shop, _ := url.Parse("https://shop.example.co.uk/")
	evil, _ := url.Parse("https://evil.co.uk/")
	sibling, _ := url.Parse("https://www.example.co.uk/")
	j.SetCookies(shop, []*http.Cookie{
		{Name: "leak", Value: "1", Domain: "co.uk"},
		{Name: "site", Value: "2", Domain: "example.co.uk"},
	})
	assert.Empty(t, j.Cookies(evil), "a cookie for a public suffix reached another site")
	got := j.Cookies(sibling)
	require.Len(t, got, 1)
	assert.Equal(t, "site", got[0].Name, "a cookie for the site's own domain still works")
}
