package dump

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/molotov-go/molotov/internal/redact"
)

// trackBody is a response body that records reads and Close.
type trackBody struct {
	r      io.Reader
	reads  int
	closed bool
}

func (b *trackBody) Read(p []byte) (int, error) {
	b.reads++
	return b.r.Read(p)
}

func (b *trackBody) Close() error {
	b.closed = true
	return nil
}

func newResponse(header http.Header, body string) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		Header:        header,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: -1,
	}
}

func TestResponse(t *testing.T) {
	binary := string([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3})
	long := strings.Repeat("abcdefghij", 5) // 50 bytes

	tests := []struct {
		name  string
		resp  *http.Response
		limit int
		want  string
	}{
		{
			name:  "text",
			resp:  newResponse(http.Header{"Content-Type": {"text/plain"}, "X-B": {"2", "3"}, "X-A": {"1"}}, "hello\nworld"),
			limit: 100,
			want: "< HTTP/1.1 200 OK\n" +
				"< Content-Type: text/plain\n" +
				"< X-A: 1\n" +
				"< X-B: 2\n" +
				"< X-B: 3\n" +
				"\n" +
				"hello\nworld\n",
		},
		{
			name:  "empty body",
			resp:  newResponse(http.Header{"Content-Length": {"0"}}, ""),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< Content-Length: 0\n\n",
		},
		{
			name: "set-cookie redacted",
			resp: newResponse(http.Header{"Set-Cookie": {"sid=secret; Path=/; HttpOnly", "flag"}}, ""),
			want: "< HTTP/1.1 200 OK\n" +
				"< Set-Cookie: sid=***; Path=/; HttpOnly\n" +
				"< Set-Cookie: ***\n" +
				"\n",
		},
		{
			name:  "binary",
			resp:  newResponse(http.Header{"Content-Type": {"image/png"}}, binary),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< Content-Type: image/png\n\n[binary body: 8 bytes, content-type image/png]\n",
		},
		{
			name:  "binary truncated",
			resp:  newResponse(nil, binary),
			limit: 4,
			want:  "< HTTP/1.1 200 OK\n\n[binary body: 4 bytes shown of ≥5, content-type unknown]\n",
		},
		{
			name: "binary truncated known length",
			resp: func() *http.Response {
				r := newResponse(nil, binary)
				r.ContentLength = 8
				return r
			}(),
			limit: 4,
			want:  "< HTTP/1.1 200 OK\n\n[binary body: 4 bytes shown of 8, content-type unknown]\n",
		},
		{
			name:  "escape sequence is binary",
			resp:  newResponse(nil, "red \x1b[31m text"),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n\n[binary body: 14 bytes, content-type unknown]\n",
		},
		{
			name:  "invalid utf-8 is binary",
			resp:  newResponse(nil, "caf\xe9"),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n\n[binary body: 4 bytes, content-type unknown]\n",
		},
		{
			name:  "truncated",
			resp:  newResponse(nil, long),
			limit: 20,
			want:  "< HTTP/1.1 200 OK\n\nabcdefghijabcdefghij... [truncated after 20 bytes]\n",
		},
		{
			name:  "exactly the limit",
			resp:  newResponse(nil, long),
			limit: 50,
			want:  "< HTTP/1.1 200 OK\n\n" + long + "\n",
		},
		{
			name:  "truncated inside a character",
			resp:  newResponse(nil, "ab€cd"), // € is 3 bytes
			limit: 3,
			want:  "< HTTP/1.1 200 OK\n\nab... [truncated after 2 bytes]\n",
		},
		{
			name:  "encoded body",
			resp:  newResponse(http.Header{"Content-Encoding": {"gzip"}}, "\x1f\x8b\x08\x00"),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< Content-Encoding: gzip\n\n[encoded body (gzip)]\n",
		},
		{
			name:  "encoded body, several codings",
			resp:  newResponse(http.Header{"Content-Encoding": {"identity, BR"}}, "xx"),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< Content-Encoding: identity, BR\n\n[encoded body (identity, BR)]\n",
		},
		{
			name:  "identity encoding is shown",
			resp:  newResponse(http.Header{"Content-Encoding": {"identity"}}, "plain"),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< Content-Encoding: identity\n\nplain\n",
		},
		{
			name: "odd response",
			resp: &http.Response{StatusCode: 404, Status: "Not Found", Body: http.NoBody},
			want: "< HTTP/1.1 404 Not Found\n\n",
		},
		{
			name: "zero response",
			resp: &http.Response{},
			want: "< HTTP/1.1 0\n\n",
		},
		{
			name:  "control characters in headers are escaped",
			resp:  newResponse(http.Header{"X-Evil": {"a\x1b[2Jb\nc\td"}}, ""),
			limit: 100,
			want:  "< HTTP/1.1 200 OK\n< X-Evil: a\\x1b[2Jb\\nc\td\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var orig []byte
			if tt.resp.Body != nil {
				var err error
				orig, err = io.ReadAll(tt.resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				tt.resp.Body = io.NopCloser(bytes.NewReader(orig))
				if len(orig) == 0 && tt.resp.Header.Get("Content-Length") == "" {
					tt.resp.Body = http.NoBody
				}
			}
			var buf bytes.Buffer
			if err := Response(&buf, tt.resp, tt.limit, nil); err != nil {
				t.Fatalf("Response: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("output mismatch\n got: %q\nwant: %q", got, tt.want)
			}
			if tt.resp.Body != nil {
				rest, err := io.ReadAll(tt.resp.Body)
				if err != nil {
					t.Fatalf("reading the body after Response: %v", err)
				}
				if !bytes.Equal(rest, orig) {
					t.Errorf("body after Response = %q, want %q", rest, orig)
				}
			}
		})
	}
}

func TestResponseDefaultLimit(t *testing.T) {
	body := strings.Repeat("x", Limit+10)
	var buf bytes.Buffer
	if err := Response(&buf, newResponse(nil, body), 0, nil); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("x", Limit) + "... [truncated after 2048 bytes]\n"; !strings.HasSuffix(buf.String(), want) {
		t.Errorf("output does not end with the truncated body: %q", buf.String()[buf.Len()-60:])
	}
}

func TestResponseBodyStillReadable(t *testing.T) {
	body := strings.Repeat("0123456789", 100) // 1000 bytes
	tests := []struct {
		name  string
		r     io.Reader
		limit int
		want  string
		err   error
	}{
		{"shorter than limit", strings.NewReader("short"), 100, "short", nil},
		{"longer than limit", strings.NewReader(body), 10, body, nil},
		{"one byte reads", iotest.OneByteReader(strings.NewReader(body)), 10, body, nil},
		{"data and EOF together", iotest.DataErrReader(strings.NewReader(body)), 2000, body, nil},
		{"error after prefix", io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errBroken)), 10, "abc", errBroken},
		{"error after limit", io.MultiReader(strings.NewReader(body), iotest.ErrReader(errBroken)), 10, body, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := &trackBody{r: tt.r}
			resp := newResponse(nil, "")
			resp.Body = orig
			var buf bytes.Buffer
			if err := Response(&buf, resp, tt.limit, nil); err != nil {
				t.Fatalf("Response: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			if !errors.Is(err, tt.err) {
				t.Errorf("read error = %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Errorf("body after Response: got %d bytes, want %d", len(got), len(tt.want))
			}
			if orig.closed {
				t.Error("Response closed the body")
			}
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if !orig.closed {
				t.Error("closing the replacement body did not close the original")
			}
		})
	}
}

var errBroken = errors.New("connection reset")

func TestResponseReadErrorShown(t *testing.T) {
	resp := newResponse(nil, "")
	resp.Body = io.NopCloser(io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errBroken)))
	var buf bytes.Buffer
	if err := Response(&buf, resp, 100, nil); err != nil {
		t.Fatal(err)
	}
	want := "< HTTP/1.1 200 OK\n\npartial\n[body read error: connection reset]\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestRequest(t *testing.T) {
	newReq := func(method, target, body string, header http.Header) *http.Request {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, target, r)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		return req
	}

	tests := []struct {
		name  string
		req   *http.Request
		limit int
		want  string
	}{
		{
			name: "redaction",
			req: newReq("GET", "http://user:pass@example.com/path?q=1", "", http.Header{
				"Authorization":       {"Bearer abc.def.ghi"},
				"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
				"Cookie":              {"a=1; b=2;c"},
				"Accept":              {"*/*"},
			}),
			want: "> GET http://user:xxxxx@example.com/path?q=1 HTTP/1.1\n" +
				"> Accept: */*\n" +
				"> Authorization: Bearer ***\n" +
				"> Cookie: a=***; b=***; ***\n" +
				"> Proxy-Authorization: Basic ***\n" +
				"\n",
		},
		{
			name: "authorization without scheme",
			req:  newReq("GET", "http://h/", "", http.Header{"Authorization": {"secret-token-without-scheme"}}),
			want: "> GET http://h/ HTTP/1.1\n> Authorization: ***\n\n",
		},
		{
			name: "authorization with odd scheme",
			req:  newReq("GET", "http://h/", "", http.Header{"Authorization": {"se:cret token"}}),
			want: "> GET http://h/ HTTP/1.1\n> Authorization: ***\n\n",
		},
		{
			name: "non-canonical header name",
			req: func() *http.Request {
				r := newReq("GET", "http://h/", "", nil)
				r.Header["authorization"] = []string{"Bearer x"}
				return r
			}(),
			want: "> GET http://h/ HTTP/1.1\n> authorization: Bearer ***\n\n",
		},
		{
			name:  "body via GetBody",
			req:   newReq("POST", "http://h/login", `{"user":"bob"}`, http.Header{"Content-Type": {"application/json"}}),
			limit: 100,
			want:  "> POST http://h/login HTTP/1.1\n> Content-Type: application/json\n\n{\"user\":\"bob\"}\n",
		},
		{
			name:  "body truncated",
			req:   newReq("PUT", "http://h/", strings.Repeat("a", 30), nil),
			limit: 10,
			want:  "> PUT http://h/ HTTP/1.1\n\naaaaaaaaaa... [truncated after 10 bytes]\n",
		},
		{
			name:  "binary body with known length",
			req:   newReq("PUT", "http://h/", "\x00\x01\x02\x03\x04\x05", http.Header{"Content-Type": {"application/octet-stream"}}),
			limit: 2,
			want:  "> PUT http://h/ HTTP/1.1\n> Content-Type: application/octet-stream\n\n[binary body: 2 bytes shown of 6, content-type application/octet-stream]\n",
		},
		{
			name:  "encoded body",
			req:   newReq("POST", "http://h/", "\x1f\x8b", http.Header{"Content-Encoding": {"gzip"}}),
			limit: 100,
			want:  "> POST http://h/ HTTP/1.1\n> Content-Encoding: gzip\n\n[encoded body (gzip)]\n",
		},
		{
			name: "body not replayable",
			req: func() *http.Request {
				r := newReq("POST", "http://h/", "", nil)
				r.Body = io.NopCloser(strings.NewReader("stream"))
				return r
			}(),
			want: "> POST http://h/ HTTP/1.1\n\n[body not shown: not replayable]\n",
		},
		{
			name: "GetBody fails",
			req: func() *http.Request {
				r := newReq("POST", "http://h/", "x", nil)
				r.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("gone") }
				return r
			}(),
			want: "> POST http://h/ HTTP/1.1\n\n[body not shown: gone]\n",
		},
		{
			name: "NoBody",
			req:  newReq("POST", "http://h/", "", nil),
			want: "> POST http://h/ HTTP/1.1\n\n",
		},
		{
			name: "zero request",
			req:  &http.Request{},
			want: "> GET / HTTP/1.1\n\n",
		},
		{
			name: "nil URL, RequestURI",
			req:  &http.Request{Method: "DELETE", RequestURI: "/x", Body: http.NoBody},
			want: "> DELETE /x HTTP/1.1\n\n",
		},
		{
			name: "URL without host",
			req:  &http.Request{Method: "GET", URL: &url.URL{Path: "/p"}, Proto: "HTTP/2.0"},
			want: "> GET /p HTTP/2.0\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Request(&buf, tt.req, tt.limit, nil); err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("output mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestRequestBodyUnconsumed(t *testing.T) {
	body := strings.Repeat("payload ", 500)
	req, err := http.NewRequest("POST", "http://h/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var gets int
	getBody := req.GetBody
	req.GetBody = func() (io.ReadCloser, error) {
		gets++
		return getBody()
	}
	var buf bytes.Buffer
	if err := Request(&buf, req, 16, nil); err != nil {
		t.Fatal(err)
	}
	if gets != 1 {
		t.Errorf("GetBody called %d times, want 1", gets)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != body {
		t.Errorf("req.Body consumed: read %d bytes back, want %d", len(got), len(body))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBroken }

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		is   error
	}{
		{"nil request", func() error { return Request(io.Discard, nil, 0, nil) }, nil},
		{"nil response", func() error { return Response(io.Discard, nil, 0, nil) }, nil},
		{"nil writer", func() error { return Response(nil, &http.Response{}, 0, nil) }, nil},
		{"request write error", func() error { return Request(failWriter{}, &http.Request{}, 0, nil) }, errBroken},
		{"response write error", func() error { return Response(failWriter{}, &http.Response{}, 0, nil) }, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("got nil error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "dump: ") {
				t.Errorf("error %q lacks the dump: prefix", err)
			}
		})
	}
}

func FuzzResponse(f *testing.F) {
	f.Add([]byte("hello"), "text/plain")
	f.Add([]byte{0xff, 0x00, 0x1b}, "application/octet-stream")
	f.Add([]byte("ab€cd"), "")
	f.Add([]byte(strings.Repeat("x", Limit+1)), "text/plain\x00\n")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, limit := range []int{-1, 1, 3, 16, Limit} {
			resp := &http.Response{
				StatusCode:    200,
				Header:        http.Header{"Content-Type": {contentType}},
				Body:          io.NopCloser(iotest.HalfReader(bytes.NewReader(body))),
				ContentLength: -1,
			}
			var buf bytes.Buffer
			if err := Response(&buf, resp, limit, nil); err != nil {
				t.Fatalf("Response: %v", err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the body after Response: %v", err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("limit %d: body after Response = %q, want %q", limit, got, body)
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte("< HTTP/1.1 200 OK\n")) {
				t.Fatalf("bad status line in %q", buf.Bytes())
			}
			if bytes.ContainsAny(buf.Bytes(), "\x00\x1b") {
				t.Fatalf("control bytes in the dump %q", buf.Bytes())
			}
		}
	})
}

// Custom secret headers, secret query parameters and secret fields of JSON
// and form bodies are hidden too, in requests and in responses.
func TestSecretsByName(t *testing.T) {
	body := `{"user":"ann","password":"hunter2","token":"t-1"}`
	req, err := http.NewRequest("POST", "http://h/login?api_key=k-9&page=2", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "k-123")
	req.Header.Set("X-Auth-Token", "t-456")
	req.Header.Set("Content-Type", "application/json")
	var buf bytes.Buffer
	if err := Request(&buf, req, 0, redact.New("tenant")); err != nil {
		t.Fatal(err)
	}
	resp := newResponse(http.Header{"X-Auth-Token": {"t-789"}, "Content-Type": {"application/x-www-form-urlencoded"}}, "tenant=acme&sid=1&password=p")
	if err := Response(&buf, resp, 0, redact.New("tenant")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"k-9", "k-123", "t-456", "hunter2", "t-1", "t-789", "acme", "password=p"} {
		if strings.Contains(out, secret) {
			t.Errorf("dump shows %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"page=2", `"user":"ann"`, "sid=1", "X-Api-Key: ***"} {
		if !strings.Contains(out, kept) {
			t.Errorf("dump lost %q:\n%s", kept, out)
		}
	}
}
