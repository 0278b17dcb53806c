// Package redact hides secrets in what a run prints and keeps: the values
// of headers, URL query parameters and JSON or form fields whose names say
// they are secret, and the password of a URL.
//
// A name is secret when it contains, in any case, one of the rule's
// words: DefaultWords ("key", "token", "secret", "password", "passwd",
// "auth", "session", "signature", "credential") and those the user adds.
// So X-Api-Key, access_token, client_secret and Authorization are hidden.
// Matching by part of the name hides a few names that are not secret
// ("monkey"): a dump that shows too little is the safe way to be wrong.
package redact

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces a secret value.
const Mask = "***"

// DefaultWords are the parts of a name that make it secret.
var DefaultWords = []string{"key", "token", "secret", "password", "passwd", "auth", "session", "signature", "credential"}

// Rules says which names are secret. Its methods are safe for concurrent
// use; a nil *Rules uses DefaultWords.
type Rules struct {
	words []string // lower case
}

var defaultRules = New()

// New returns the rules of DefaultWords and the extra words (names or
// parts of names, in any case; empty ones are ignored).
func New(extra ...string) *Rules {
	r := &Rules{words: append([]string(nil), DefaultWords...)}
	for _, w := range extra {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			r.words = append(r.words, w)
		}
	}
	return r
}

func (r *Rules) get() *Rules {
	if r == nil {
		return defaultRules
	}
	return r
}

// Secret reports whether a header, parameter or field of this name holds
// a secret.
func (r *Rules) Secret(name string) bool {
	name = strings.ToLower(name)
	for _, w := range r.get().words {
		if strings.Contains(name, w) {
			return true
		}
	}
	return name == "cookie" || name == "set-cookie"
}

// Header returns the value of header name with its secret hidden: the
// scheme of an Authorization stays ("Bearer ***"), cookies keep their
// names ("sid=***; Path=/"), and a header whose name is secret is
// masked whole.
func (r *Rules) Header(name, value string) string {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization":
		v := strings.TrimSpace(value)
		if v == "" {
			return v
		}
		if scheme, _, ok := strings.Cut(v, " "); ok && isToken(scheme) {
			return scheme + " " + Mask
		}
		return Mask
	case "cookie":
		parts := strings.Split(value, ";")
		for i, p := range parts {
			parts[i] = maskPair(strings.TrimSpace(p))
		}
		return strings.Join(parts, "; ")
	case "set-cookie":
		pair, attrs, ok := strings.Cut(value, ";")
		pair = maskPair(strings.TrimSpace(pair))
		if ok {
			return pair + ";" + attrs
		}
		return pair
	}
	if r.Secret(name) && value != "" {
		return Mask
	}
	return value
}

// URL returns u as a string with its password and the values of its
// secret query parameters masked.
func (r *Rules) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	if u.RawQuery == "" {
		return u.Redacted()
	}
	c := *u
	c.RawQuery = r.query(u.RawQuery)
	return c.Redacted()
}

// query masks the secret parameters of a raw query, keeping its order and
// its encoding.
func (r *Rules) query(raw string) string {
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if r.Secret(name) {
			parts[i], changed = k+"="+Mask, true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// urlInText finds http and https URLs in free text, up to a space or a
// quote.
var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// Text masks the secrets of the URLs in s, such as an error message
// ("Get \"http://host/x?token=abc\": EOF").
func (r *Rules) Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		// Punctuation that ends the URL's sentence is not part of it
		// ("GET http://h/x?token=abc: status 500").
		trimmed := strings.TrimRight(raw, ":;,.)]")
		u, err := url.Parse(trimmed)
		if err != nil {
			return raw
		}
		return r.URL(u) + raw[len(trimmed):]
	})
}

// jsonField matches a JSON member, "name": value, with a string, number
// or literal value; it works on the prefix of a document that a dump
// shows, where a parser would fail.
var jsonField = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null)`)

// JSON masks the values of the secret members of a JSON text (or of its
// beginning); objects and arrays under a secret name are left as they are.
func (r *Rules) JSON(s string) string {
	idx := jsonField.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		if !r.Secret(s[m[2]:m[3]]) {
			continue
		}
		b.WriteString(s[last:m[6]])
		b.WriteString(`"` + Mask + `"`)
		last = m[7]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Form masks the values of the secret fields of a URL-encoded form.
func (r *Rules) Form(s string) string {
	return r.query(s)
}

// maskPair masks the value of a name=value pair.
func maskPair(p string) string {
	if p == "" {
		return p
	}
	if name, _, ok := strings.Cut(p, "="); ok {
		return name + "=" + Mask
	}
	return Mask
}

// isToken reports whether s is a non-empty run of letters, digits and '-'
// (an authentication scheme such as Basic or Bearer).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}
