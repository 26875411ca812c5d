// Package azproxy is the HTTP(S) proxy that makes an unmodified Azure app reach keyhaven: CONNECT tunnels to
// Azure's host names go to keyhaven's address, everything else where it was going. The runner gives one to each
// app it runs, and keyhaven serve offers one (--proxy-addr) for a developer's own shell (keyhaven env).
package azproxy

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Proxy is an app's HTTP(S) proxy: CONNECT tunnels to Azure's names go to keyhaven's address (TLS stays end to
// end: the app verifies keyhaven's certificate against the CA it was told to trust); everything else goes where
// it was going. Plain HTTP to 169.254.169.254 reaches IMDS for VMs, and nothing otherwise (App Service has no
// IMDS, and a probe must see it unreachable).
type Proxy struct {
	// Keyhaven is keyhaven's host:port.
	Keyhaven string
	// Zone is keyhaven's DNS zone, whose names also go to keyhaven.
	Zone string
	// IMDS answers 169.254.169.254; nil for web apps.
	IMDS   http.Handler
	direct *http.Transport
}

// New returns a proxy to keyhaven at addr.
func New(keyhaven, zone string, imds http.Handler) *Proxy {
	return &Proxy{Keyhaven: keyhaven, Zone: zone, IMDS: imds,
		direct: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}}
}

// AzureHost reports whether keyhaven answers for a host name.
func (p *Proxy) AzureHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch h {
	case "login.microsoftonline.com", "login.windows.net", "management.azure.com", "graph.microsoft.com":
		return true
	}
	if strings.HasSuffix(h, ".vault.azure.net") {
		return true
	}
	if p.Zone != "" && (strings.HasSuffix(h, ".vault."+p.Zone) || h == "login."+p.Zone || h == "management."+p.Zone || h == "graph."+p.Zone) {
		return true
	}
	return false
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	host := r.URL.Hostname()
	if host == "169.254.169.254" {
		if p.IMDS == nil {
			// No answer at all, like a network where the address leads nowhere.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		p.IMDS.ServeHTTP(w, r) // a client's own X-Forwarded-For is refused there, as IMDS refuses proxied requests
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "keyhaven proxy: not a proxy request", http.StatusBadRequest)
		return
	}
	// Plain HTTP elsewhere: forward as is.
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := p.direct.RoundTrip(out)
	if err != nil {
		http.Error(w, "keyhaven proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	target := r.Host
	if p.AzureHost(host) {
		target = p.Keyhaven
	}
	upstream, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		http.Error(w, "keyhaven proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "keyhaven proxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	// Bytes the client sent after the CONNECT request are already in the buffer.
	if n := buf.Reader.Buffered(); n > 0 {
		b, _ := buf.Reader.Peek(n)
		upstream.Write(b)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(upstream, client); closeWrite(upstream) }()
	go func() { defer wg.Done(); io.Copy(client, upstream); closeWrite(client) }()
	wg.Wait()
	client.Close()
	upstream.Close()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
}
