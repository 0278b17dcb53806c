// Package loopback checks that a load generator's target URL is on
// loopback, for the programs under bench/: load only ever goes to
// 127.0.0.0/8, ::1 or localhost.
package loopback

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckURL returns nil when raw is an http or https URL whose host is
// loopback, and otherwise an error that names the -url flag, the problem
// and the fix; tool names the program in it ("loadgen only loads …").
func CheckURL(raw, tool string) error {
	if raw == "" {
		return fmt.Errorf("-url is required, for example -url http://127.0.0.1:18080/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q does not parse (%v); give a URL such as http://127.0.0.1:18080/", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: need an http:// or https:// URL, for example http://127.0.0.1:18080/", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("-url %q has no host, for example http://127.0.0.1:18080/", raw)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: host %q is not loopback; %s only loads 127.0.0.0/8, ::1 or localhost", raw, host, tool)
}
