package molotov

import (
	"context"
	"net/http"
	"sync/atomic"
)

type requestNameKey struct{}

// WithRequestName returns a context whose requests are grouped in the
// statistics under name instead of "METHOD /path", for URLs that carry ids:
//
//	ctx = molotov.WithRequestName(ctx, "GET /items/{id}")
func WithRequestName(ctx context.Context, name string) context.Context {
	requestNamesUsed.Store(true)
	return context.WithValue(ctx, requestNameKey{}, name)
}

// requestName returns the name that WithRequestName gave ctx's requests,
// or "".
func requestName(ctx context.Context) string {
	if !requestNamesUsed.Load() {
		return ""
	}
	name, _ := ctx.Value(requestNameKey{}).(string)
	return name
}

// requestNamesUsed is set once WithRequestName was called in the process:
// until then no request's context is searched for a name (a walk up the
// context chain on every request).
var requestNamesUsed atomic.Bool

// sessionNameCache bounds the request names a session remembers; others
// are looked up in the run's table each time, so memory stays bounded
// however many workers and names there are.
const sessionNameCache = 64

// nameEntry is a request name a session has seen, split into its method
// and path, with its stats.
type nameEntry struct {
	method, path string
	st           *requestStats
}

// statsFor finds the stats of req's name. A session's recent names are
// found without a lock, a hash or an allocation: a scenario's requests
// mostly repeat the same few names.
func (s *Session) statsFor(req *http.Request) *requestStats {
	if requestNamesUsed.Load() {
		if name, ok := req.Context().Value(requestNameKey{}).(string); ok && name != "" {
			return s.rs.stats.request(name)
		}
	}
	path := "/"
	if req.URL != nil && req.URL.Path != "" {
		path = req.URL.Path
	}
	slot := &s.recent[(len(path)+len(req.Method))%len(s.recent)]
	if e := slot.Load(); e != nil && e.path == path && e.method == req.Method {
		return e.st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = append(append(append(s.key[:0], req.Method...), ' '), path...)
	e, ok := s.names[string(s.key)]
	if !ok {
		e = &nameEntry{method: req.Method, path: path, st: s.rs.stats.request(string(s.key))}
	}
	// The map keeps the names that lost their slot to another, so that a
	// session whose few names never share a slot has no map at all.
	if old := slot.Load(); old != nil && old != e {
		if s.names == nil {
			s.names = make(map[string]*nameEntry)
		}
		if len(s.names) < sessionNameCache {
			s.names[old.st.name] = old // the run's own copy of the name: nothing per session but the entry
		}
	}
	slot.Store(e)
	return e.st
}
