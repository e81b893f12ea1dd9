// Package egress is the one way Obscura makes outbound HTTP requests to
// URLs that tenants or operators supply (job webhooks, the alert webhook).
//
// It protects against server-side request forgery: by default a request
// may not reach loopback, private (RFC 1918, unique-local), link-local,
// multicast, unspecified, carrier-grade NAT, benchmarking, reserved or
// broadcast addresses, nor IPv6 forms that embed one of them (IPv4-mapped,
// IPv4-compatible, NAT64, 6to4, Teredo). The check runs on the address
// actually dialled — in the dialer's Control hook, after DNS resolution —
// so a name that resolves to a public address when the URL is checked and
// to 127.0.0.1 when it is dialled (DNS rebinding) is still refused.
// Redirects are never followed, and environment proxies are ignored (a
// proxy would make the proxy the dialled address). URLs must be https;
// http is accepted only to an address on the allow-list.
//
// The allow-list (config egress_allow, OBSCURA_EGRESS_ALLOW) is for
// development: it names prefixes such as 127.0.0.1/32 that become
// reachable. It does not protect against a public endpoint that is
// itself malicious, nor against what the receiving service does with
// the request.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

// ErrURL reports an outbound URL Obscura will not call: not https (or http
// to an allowed address), carrying credentials, too long, or naming an
// address that is not allowed. It is fault.Invalid.
var ErrURL = fault.New(fault.Invalid, "outbound URL must be https to a public address")

// ErrAddress reports a dial refused because the resolved address is not
// public and not on the allow-list. Retrying cannot help.
var ErrAddress = errors.New("egress: address not allowed")

// MaxURLBytes bounds an outbound URL.
const MaxURLBytes = 2000

// blocked lists special-purpose ranges beyond what netip.Addr's predicates
// cover (IANA special-purpose registries).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Policy decides which addresses outbound requests may reach.
type Policy struct {
	allow []netip.Prefix
}

// NewPolicy returns the default policy (public addresses only) widened by
// allow, a list of CIDR prefixes or single addresses ("127.0.0.1",
// "10.0.0.0/8"). An empty list is the production setting.
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{}
	for _, a := range allow {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !strings.Contains(a, "/") {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				return nil, fmt.Errorf("egress allow-list entry %q: %w", a, err)
			}
			a = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()).String()
		}
		pr, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("egress allow-list entry %q: %w", a, err)
		}
		p.allow = append(p.allow, netip.PrefixFrom(pr.Addr().Unmap(), min(pr.Bits(), pr.Addr().Unmap().BitLen())).Masked())
	}
	return p, nil
}

// Public reports whether ip is a globally routable unicast address that is
// none of the special-purpose kinds this package refuses.
func Public(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || ip.Zone() != "" {
		return false
	}
	for _, b := range blocked {
		if b.Contains(ip) {
			return false
		}
	}
	return true
}

// Allowed reports whether the policy lets a request reach ip.
func (p *Policy) Allowed(ip netip.Addr) bool {
	if p.allowListed(ip) {
		return true
	}
	return Public(ip)
}

func (p *Policy) allowListed(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, a := range p.allow {
		if a.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckURL checks an outbound URL before it is stored or queued: https (or
// http to an allow-listed address), a host, no credentials, bounded
// length, and — when the host is an address literal — an allowed address.
// Names are checked again, authoritatively, when they are dialled.
func (p *Policy) CheckURL(raw string) error {
	if len(raw) > MaxURLBytes {
		return ErrURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ErrURL
	}
	host := u.Hostname()
	ip, literal := parseHost(host)
	if literal && !p.Allowed(ip) {
		return ErrURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if literal && p.allowListed(ip) {
			return nil
		}
		if strings.EqualFold(host, "localhost") && p.allowListed(netip.MustParseAddr("127.0.0.1")) {
			return nil
		}
	}
	return ErrURL
}

// parseHost reads an address literal, including the forms net.ParseIP
// would not (a zone suffix).
func parseHost(h string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip, true
}

// control is the dialer hook: address is the resolved ip:port about to
// be connected.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAddress, err)
	}
	if !p.Allowed(ap.Addr()) {
		return ErrAddress
	}
	return nil
}

// Client returns an HTTP client whose every connection is checked by the
// policy at dial time, that never follows redirects (the 3xx response is
// returned) and ignores proxy settings.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: p.control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Refused reports whether err is a request the policy refused (retrying
// cannot help).
func Refused(err error) bool {
	return errors.Is(err, ErrAddress) || errors.Is(err, ErrURL)
}
