package molotov

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
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

// Secrets named by their header, query parameter or body field stay out
// of the verbose dumps, the errors, the summary and the JSON result; the
// names a user adds with Runner.Redact too.
func TestSecretsByNameStayOutOfOutputs(t *testing.T) {
	secrets := []string{"qtok-SECRET", "hdr-SECRET", "resp-SECRET", "pw-SECRET", "tenant-SECRET"}
	srv := newConnServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Auth-Token", "resp-SECRET")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":"bad credentials","token":"resp-SECRET"}`)
	}))
	reg := sbOneScenario("login", func(ctx context.Context, s *Session) error {
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/login?access_token=qtok-SECRET&tenant=tenant-SECRET&page=2",
			strings.NewReader(`{"user":"ann","password":"pw-SECRET"}`))
		if err != nil {
			return err
		}
		req.Header.Set("X-Api-Key", "hdr-SECRET")
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return ExpectStatus(resp, 200)
	})
	var out lockedBuffer
	file := filepath.Join(t.TempDir(), "result.json")
	res := runWithin(t, &Runner{Registry: reg, MaxRuns: 2, Verbose: 2, Output: &out, Redact: []string{"Tenant"}, ResultFile: file}, 10*time.Second)
	require.EqualValues(t, 2, res.Failed)
	saved, err := os.ReadFile(file)
	require.NoError(t, err)
	for where, text := range map[string]string{"console": out.String(), "errors": resultErrorsText(res), "JSON result": string(saved)} {
		for _, s := range secrets {
			assert.NotContains(t, text, s, "%s shows a secret", where)
		}
	}
	assert.Contains(t, resultErrorsText(res), "access_token=***&tenant=***&page=…", "the counted error still says which parameters were there, without their values")
	assert.Contains(t, out.String(), "bad credentials", "what is not secret is still shown")
}
