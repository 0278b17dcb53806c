package molotov

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// maxRefusedHosts bounds the hosts a run names as refusing connections.
const maxRefusedHosts = 3

// refusals counts the failures whose cause is a refused connection
// (ECONNREFUSED), and the first hosts that refused: when they are all of
// a run's failures, the summary says that the target looks down.
type refusals struct {
	mu    sync.Mutex
	n     int64
	hosts []string
}

// note counts err when a refused connection caused it.
func (r *refusals) note(err error) {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return
	}
	host := refusedHost(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if host != "" && len(r.hosts) < maxRefusedHosts && !slices.Contains(r.hosts, host) {
		r.hosts = append(r.hosts, host)
	}
}

func (r *refusals) figures() (int64, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, slices.Clone(r.hosts)
}

// refusedHost returns where the refused request went: the scheme and host
// of its URL ("http://127.0.0.1:9"), else the address dialled.
func refusedHost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		return oe.Addr.String()
	}
	return ""
}

// targetDown returns the summary's note on a run whose every failure
// (scenario runs and setups) was a refused connection, naming where they
// went: the BaseURL when they all went to its host; "" for any other run.
func targetDown(res *Result) string {
	if res.refused == 0 || res.refused < res.Failed+int64(res.SetupFailed) {
		return ""
	}
	where := strings.Join(res.refusedHosts, ", ")
	if res.opts != nil && res.opts.BaseURL != "" {
		if u, err := url.Parse(res.opts.BaseURL); err == nil && (where == "" || where == u.Scheme+"://"+u.Host) {
			where = res.opts.BaseURL + " (the BaseURL)"
		}
	}
	if where == "" {
		return "The target looks down: every failure was a refused connection. Is the service running?"
	}
	return "The target looks down: every failure was a refused connection, at " + where + ". Is the service running there?"
}
