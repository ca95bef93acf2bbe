package transport

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// scope is the part of URL space a transport may send requests to: one
// scheme, host and port, and every path below one prefix. It keeps a
// foreign or crafted @odata.nextLink from ever receiving the token.
type scope struct {
	scheme, host, port string
	pathPrefix         string // without a trailing slash
}

// newScope returns the scope of base, e.g. https://graph.microsoft.com/beta.
// Plain http is accepted only for loopback hosts (tests, the simulator).
func newScope(base *url.URL) (scope, error) {
	if base == nil || base.Host == "" {
		return scope{}, errors.New("graph url has no host")
	}
	s := scope{
		scheme:     strings.ToLower(base.Scheme),
		host:       strings.ToLower(base.Hostname()),
		port:       portOf(base),
		pathPrefix: strings.TrimSuffix(base.EscapedPath(), "/"),
	}
	switch {
	case s.scheme != "https" && s.scheme != "http":
		return scope{}, fmt.Errorf("graph url %s: scheme must be https", base.Redacted())
	case s.scheme == "http" && !IsLoopback(s.host):
		return scope{}, fmt.Errorf("graph url %s: plain http is allowed only for loopback hosts", base.Redacted())
	case base.User != nil:
		return scope{}, fmt.Errorf("graph url %s: must not contain user information", base.Redacted())
	case hasDotSegment(s.pathPrefix):
		return scope{}, fmt.Errorf("graph url %s: path must not contain . or .. segments", base.Redacted())
	}
	return s, nil
}

// check returns an error naming u if u lies outside the scope.
func (s scope) check(u *url.URL) error {
	path := u.EscapedPath()
	inside := strings.EqualFold(u.Scheme, s.scheme) &&
		strings.EqualFold(u.Hostname(), s.host) &&
		portOf(u) == s.port &&
		u.User == nil &&
		(path == s.pathPrefix || strings.HasPrefix(path, s.pathPrefix+"/")) &&
		!hasDotSegment(path)
	if inside {
		return nil
	}
	return fmt.Errorf("refused request to %s: outside the Graph URL %s", location(u), s)
}

// String returns the scope as a URL prefix.
func (s scope) String() string {
	return s.scheme + "://" + net.JoinHostPort(s.host, s.port) + s.pathPrefix
}

// location prints u without user information or query, which may carry
// opaque tokens.
func location(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// IsLoopback reports whether host is localhost or a loopback address: the
// only hosts plain http is allowed for (a local test server).
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment
// or an encoded slash, which could climb out of the prefix.
func hasDotSegment(escapedPath string) bool {
	for seg := range strings.SplitSeq(escapedPath, "/") {
		unescaped, err := url.PathUnescape(seg)
		if err != nil || unescaped == "." || unescaped == ".." || strings.Contains(unescaped, "/") {
			return true
		}
	}
	return false
}
