package runner

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// proxy is the app's HTTP(S) proxy: CONNECT tunnels to Azure's names go to keyhaven's address (TLS stays end to
// end: the app verifies keyhaven's certificate against the CA it was told to trust); everything else goes where
// it was going. Plain HTTP to 169.254.169.254 reaches the runner's IMDS for VMs, and nothing for apps (App
// Service has no IMDS, and a probe must see it unreachable).
type proxy struct {
	keyhaven string // host:port of keyhaven
	zone     string
	imds     http.Handler // nil for web apps
	direct   *http.Transport
}

// azureHost reports whether keyhaven answers for a host name.
func (p *proxy) azureHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch h {
	case "login.microsoftonline.com", "login.windows.net", "management.azure.com", "graph.microsoft.com":
		return true
	}
	if strings.HasSuffix(h, ".vault.azure.net") {
		return true
	}
	if p.zone != "" && (strings.HasSuffix(h, ".vault."+p.zone) || h == "login."+p.zone || h == "management."+p.zone || h == "graph."+p.zone) {
		return true
	}
	return false
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	host := r.URL.Hostname()
	if host == "169.254.169.254" {
		if p.imds == nil {
			// No answer at all, like a network where the address leads nowhere.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		p.imds.ServeHTTP(w, r) // a client's own X-Forwarded-For is refused there, as IMDS refuses proxied requests
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "keyhaven runner: not a proxy request", http.StatusBadRequest)
		return
	}
	// Plain HTTP elsewhere: forward as is.
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := p.direct.RoundTrip(out)
	if err != nil {
		http.Error(w, "keyhaven runner: "+err.Error(), http.StatusBadGateway)
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

func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	target := r.Host
	if p.azureHost(host) {
		target = p.keyhaven
	}
	upstream, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		http.Error(w, "keyhaven runner: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "keyhaven runner: cannot tunnel", http.StatusInternalServerError)
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
