// Package dump writes HTTP requests and responses in a readable form for
// verbose output (like Molotov's -vv): a start line, the headers with their
// secrets redacted (see internal/redact), and the beginning of the body
// when it is text.
package dump

import (
	"github.com/molotov-go/molotov/internal/redact"

	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limit is the default number of body bytes shown.
const Limit = 2048

// Request writes req to w: the request line ("> GET http://host/path
// HTTP/1.1"), the headers sorted by name ("> Name: value"), a blank line and
// at most limit bytes of the body (Limit when limit <= 0).
//
// The body is read from a fresh copy obtained from req.GetBody; req.Body is
// never read. A body that cannot be replayed (GetBody is nil) is not shown.
// Secrets are hidden by rules (nil: redact's default words): the URL's
// password and secret query parameters, secret headers, and secret fields
// of a JSON or form body.
func Request(w io.Writer, req *http.Request, limit int, rules *redact.Rules) error {
	if req == nil {
		return errors.New("dump: nil request")
	}
	if limit <= 0 {
		limit = Limit
	}
	var b bytes.Buffer
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	target := req.RequestURI
	if req.URL != nil {
		target = rules.URL(req.URL)
	}
	if target == "" {
		target = "/"
	}
	fmt.Fprintf(&b, "> %s %s %s\n", sanitize(method), sanitize(target), proto(req.Proto))
	writeHeader(&b, "> ", req.Header, rules)
	b.WriteByte('\n')

	switch {
	case req.Body == nil || req.Body == http.NoBody:
	case req.GetBody == nil:
		b.WriteString("[body not shown: not replayable]\n")
	case encoding(req.Header) != "":
		fmt.Fprintf(&b, "[encoded body (%s)]\n", sanitize(encoding(req.Header)))
	default:
		body, err := req.GetBody()
		if err != nil {
			fmt.Fprintf(&b, "[body not shown: %s]\n", sanitize(err.Error()))
			break
		}
		if body == nil {
			break
		}
		data, err := readPrefix(body, limit+1)
		_ = body.Close()
		if errors.Is(err, io.EOF) {
			err = nil
		}
		writeBody(&b, data, err, limit, req.ContentLength, req.Header, rules)
	}
	return write(w, b.Bytes())
}

// Response writes resp to w: the status line ("< HTTP/1.1 200 OK"), the
// headers sorted by name ("< Name: value"), a blank line and at most limit
// bytes of the body (Limit when limit <= 0).
//
// Up to limit+1 bytes are read from resp.Body, which is then replaced so
// that the caller still reads the whole body: the bytes read first, then the
// rest of the original body; closing it closes the original body. Reading
// blocks until limit+1 bytes or the end of the body have arrived. A body with
// a Content-Encoding (not undone by the transport) is not read. Secrets
// are hidden as in Request.
func Response(w io.Writer, resp *http.Response, limit int, rules *redact.Rules) error {
	if resp == nil {
		return errors.New("dump: nil response")
	}
	if limit <= 0 {
		limit = Limit
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "< %s %s\n", proto(resp.Proto), sanitize(status(resp)))
	writeHeader(&b, "< ", resp.Header, rules)
	b.WriteByte('\n')

	switch {
	case resp.Body == nil || resp.Body == http.NoBody:
	case encoding(resp.Header) != "":
		fmt.Fprintf(&b, "[encoded body (%s)]\n", sanitize(encoding(resp.Header)))
	default:
		data, err := readPrefix(resp.Body, limit+1)
		resp.Body = &replayBody{prefix: data, err: err, rc: resp.Body}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		writeBody(&b, data, err, limit, resp.ContentLength, resp.Header, rules)
	}
	return write(w, b.Bytes())
}

// readPrefix reads up to n bytes from r. It returns io.EOF when r ended
// before n bytes, another error when r failed, and nil otherwise.
func readPrefix(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, err := io.ReadFull(r, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return buf[:got], err
}

// replayBody yields prefix, then the rest of rc (or err if reading the prefix
// failed or reached the end).
type replayBody struct {
	prefix []byte
	err    error
	rc     io.ReadCloser
}

func (r *replayBody) Read(p []byte) (int, error) {
	if len(r.prefix) > 0 {
		n := copy(p, r.prefix)
		r.prefix = r.prefix[n:]
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.rc.Read(p)
}

func (r *replayBody) Close() error {
	return r.rc.Close()
}

// write writes b to w in one call.
func write(w io.Writer, b []byte) error {
	if w == nil {
		return errors.New("dump: nil writer")
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("dump: write: %w", err)
	}
	return nil
}

// proto returns p, or HTTP/1.1 when it is not set.
func proto(p string) string {
	if p == "" {
		return "HTTP/1.1"
	}
	return sanitize(p)
}

// status returns the status code and reason, e.g. "200 OK".
func status(resp *http.Response) string {
	code := strconv.Itoa(resp.StatusCode)
	if strings.HasPrefix(resp.Status, code+" ") || resp.Status == code {
		return resp.Status
	}
	if text := http.StatusText(resp.StatusCode); text != "" {
		return code + " " + text
	}
	return code
}

// writeHeader writes h sorted by name, one value per line.
func writeHeader(b *bytes.Buffer, prefix string, h http.Header, rules *redact.Rules) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range h[name] {
			fmt.Fprintf(b, "%s%s: %s\n", prefix, sanitize(name), sanitize(rules.Header(name, v)))
		}
	}
}

// encoding returns the Content-Encoding of h when it is a compression the
// reader would have to undo, or "".
func encoding(h http.Header) string {
	v := strings.TrimSpace(h.Get("Content-Encoding"))
	for _, c := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "gzip", "x-gzip", "deflate", "br", "compress", "x-compress", "zstd":
			return v
		}
	}
	return ""
}

// writeBody writes the body prefix data, read up to limit+1 bytes: as text
// when it is text, otherwise as a one-line description. size is the declared
// length (-1 when unknown); readErr is a read error other than io.EOF.
func writeBody(b *bytes.Buffer, data []byte, readErr error, limit int, size int64, h http.Header, rules *redact.Rules) {
	truncated := len(data) > limit
	shown := data
	if truncated {
		shown = data[:limit]
		// Do not cut a character in two.
		for i := 0; i < utf8.UTFMax-1 && len(shown) > 0; i++ {
			if r, n := utf8.DecodeLastRune(shown); r != utf8.RuneError || n != 1 {
				break
			}
			shown = shown[:len(shown)-1]
		}
		if !utf8.Valid(shown) {
			shown = data[:limit]
		}
	}

	switch {
	case len(data) == 0:
	case !isText(shown):
		ct := h.Get("Content-Type")
		if ct == "" {
			ct = "unknown"
		}
		if !truncated {
			fmt.Fprintf(b, "[binary body: %d bytes, content-type %s]\n", len(data), sanitize(ct))
			break
		}
		total := "≥" + strconv.Itoa(len(data))
		if size > int64(len(data)) {
			total = strconv.FormatInt(size, 10)
		}
		fmt.Fprintf(b, "[binary body: %d bytes shown of %s, content-type %s]\n", limit, total, sanitize(ct))
	case truncated:
		b.WriteString(hideFields(shown, h, rules))
		fmt.Fprintf(b, "... [truncated after %d bytes]\n", len(shown))
	default:
		text := hideFields(shown, h, rules)
		b.WriteString(text)
		if text[len(text)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	if readErr != nil {
		fmt.Fprintf(b, "[body read error: %s]\n", sanitize(readErr.Error()))
	}
}

// hideFields returns a text body with the values of its secret fields
// hidden: a form's by its Content-Type, JSON's by its Content-Type or its
// first character.
func hideFields(text []byte, h http.Header, rules *redact.Rules) string {
	ct := strings.ToLower(h.Get("Content-Type"))
	s := string(text)
	switch trimmed := strings.TrimSpace(s); {
	case strings.Contains(ct, "x-www-form-urlencoded"):
		return rules.Form(s)
	case strings.Contains(ct, "json"), strings.HasPrefix(trimmed, "{"), strings.HasPrefix(trimmed, "["):
		return rules.JSON(s)
	}
	return s
}

// isText reports whether data is valid UTF-8 without control characters
// other than newline, carriage return and tab.
func isText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, r := range string(data) {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// sanitize escapes control characters (other than tab) and invalid UTF-8 so
// that a header cannot break the dump's lines or drive the terminal.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r != '\t' && unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r != '\t' && unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
