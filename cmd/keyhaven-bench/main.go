// Command keyhaven-bench measures keyhaven's Key Vault data plane under load: authenticated GET secret and set
// secret over HTTPS with keep-alive, at a given concurrency for a given time, with requests/s and p50/p99/p999
// latency. In the same run it measures a bare Go HTTPS server answering the same bytes, the ceiling on this
// machine, and prints keyhaven's throughput as a fraction of it.
//
// By default it starts keyhaven in-process on a temporary data dir (SQLite) and seeds a vault; --database runs
// it on PostgreSQL instead.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/keyhaven/keyhaven/internal/app"
	"github.com/keyhaven/keyhaven/internal/arm"
	"github.com/keyhaven/keyhaven/internal/config"
)

func main() {
	concurrency := flag.Int("concurrency", 32, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long each measurement runs")
	ops := flag.String("ops", "ceiling,get,set", "comma-separated measurements: ceiling, get, set")
	database := flag.String("database", "", "keyhaven's --database (default: SQLite in a temp dir)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this `file`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "keyhaven-bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*concurrency, *duration, strings.Split(*ops, ","), *database); err != nil {
		fmt.Fprintln(os.Stderr, "keyhaven-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// result is one measurement.
type result struct {
	name      string
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*p))]
}

// drive runs do from n goroutines for d and collects latencies.
func drive(name string, n int, d time.Duration, do func(worker, i int) error) result {
	var wg sync.WaitGroup
	var stop atomic.Bool
	lat := make([][]time.Duration, n)
	errs := make([]int, n)
	start := time.Now()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				t := time.Now()
				if err := do(w, i); err != nil {
					errs[w]++
					if errs[w] == 1 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	r := result{name: name, elapsed: time.Since(start)}
	for w := range lat {
		r.latencies = append(r.latencies, lat[w]...)
		r.errors += errs[w]
	}
	r.requests = len(r.latencies)
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	return r
}

func run(concurrency int, d time.Duration, ops []string, database string) error {
	dir, err := os.MkdirTemp("", "keyhaven-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.ProxyAddr = ""
	cfg.Database = database
	cfg.AdminPassword = "Bench-Passw0rd!"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, app.Options{Config: cfg})
	if err != nil {
		return err
	}
	addr, err := a.Listen()
	if err != nil {
		return err
	}
	go a.Serve(ctx)
	client, err := newClient(a.CAPath(), addr.String(), concurrency)
	if err != nil {
		return err
	}
	token, err := seed(ctx, a, client)
	if err != nil {
		return err
	}
	base := "https://benchvault.vault.azure.net"
	get := func(c *http.Client) func(int, int) error {
		return func(int, int) error {
			req, _ := http.NewRequest("GET", base+"/secrets/hot/?api-version=2026-04-01", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return expect(c.Do(req))
		}
	}
	// The same bytes a GET secret answers, for the bare server.
	req, _ := http.NewRequest("GET", base+"/secrets/hot/?api-version=2026-04-01", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	payload, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	fmt.Printf("keyhaven-bench: concurrency %d, %s per measurement, database %s\n", concurrency, d, dbName(database))
	var results []result
	for _, op := range ops {
		switch strings.TrimSpace(op) {
		case "ceiling":
			r, err := ceiling(a.CAPath(), a.TLSConfig(), payload, concurrency, d)
			if err != nil {
				return err
			}
			results = append(results, r)
		case "get":
			results = append(results, drive("GET secret", concurrency, d, get(client)))
		case "set":
			body := []byte(`{"value":"a fresh value for the benchmark","contentType":"text/plain"}`)
			results = append(results, drive("set secret", concurrency, d, func(w, i int) error {
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/secrets/set-%d?api-version=2026-04-01", base, w), bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				return expect(client.Do(req))
			}))
		}
	}
	fmt.Printf("%-12s %10s %8s %10s %10s %10s\n", "measurement", "req/s", "errors", "p50", "p99", "p999")
	var ceil float64
	for _, r := range results {
		fmt.Printf("%-12s %10.0f %8d %10s %10s %10s\n", r.name, r.rps(), r.errors, r.pct(0.5).Round(time.Microsecond), r.pct(0.99).Round(time.Microsecond), r.pct(0.999).Round(time.Microsecond))
		if r.name == "ceiling" {
			ceil = r.rps()
		}
	}
	for _, r := range results {
		if ceil > 0 && r.name == "GET secret" {
			fmt.Printf("GET secret reaches %.0f%% of the bare HTTPS ceiling\n", 100*r.rps()/ceil)
		}
	}
	return nil
}

func dbName(d string) string {
	if d == "" {
		return "sqlite"
	}
	return "postgres"
}

func expect(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// newClient is an HTTP/1.1 keep-alive client that trusts only the CA and dials addr for every host.
func newClient(caPath, addr string, conns int) (*http.Client, error) {
	pemData, err := os.ReadFile(caPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
		MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}, nil
}

// seed makes a vault with a secret and a service principal allowed to read and write it, and returns the
// principal's access token (from the token endpoint, as an SDK would get it).
func seed(ctx context.Context, a *app.App, client *http.Client) (string, error) {
	inst := a.Install()
	dir := a.Directory()
	admin, err := dir.User(ctx, inst.TenantID, "admin")
	if err != nil {
		return "", err
	}
	p := arm.Principal{TenantID: inst.TenantID, ObjectID: admin.ID, Name: admin.UserPrincipalName}
	sub := "/subscriptions/" + inst.SubscriptionID
	if _, _, err := a.ARM().PutResourceGroup(ctx, p, inst.SubscriptionID, "bench", []byte(`{"location":"westus"}`)); err != nil {
		return "", err
	}
	appReg, err := dir.CreateApplication(ctx, inst.TenantID, "bench")
	if err != nil {
		return "", err
	}
	sp, err := dir.CreateServicePrincipal(ctx, inst.TenantID, appReg.AppID)
	if err != nil {
		return "", err
	}
	_, secret, err := dir.AddPassword(ctx, inst.TenantID, appReg.ID, "bench", 0)
	if err != nil {
		return "", err
	}
	vault, _ := json.Marshal(map[string]any{"location": "westus", "properties": map[string]any{
		"tenantId": inst.TenantID, "sku": map[string]any{"family": "A", "name": "standard"},
		"accessPolicies": []any{map[string]any{"tenantId": inst.TenantID, "objectId": sp.ID, "permissions": map[string]any{"secrets": []any{"get", "set", "list"}}}}}})
	if _, _, err := a.ARM().PutResource(ctx, p, sub+"/resourceGroups/bench/providers/Microsoft.KeyVault/vaults/benchvault", vault, false); err != nil {
		return "", err
	}
	resp, err := client.PostForm("https://login.microsoftonline.com/"+inst.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appReg.AppID}, "client_secret": {secret}, "scope": {"https://vault.azure.net/.default"}})
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		return "", fmt.Errorf("no token: %s", resp.Status)
	}
	req, _ := http.NewRequest("PUT", "https://benchvault.vault.azure.net/secrets/hot?api-version=2026-04-01",
		strings.NewReader(`{"value":"`+uuid.NewString()+`","contentType":"text/plain","tags":{"purpose":"benchmark"}}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	if err := expect(client.Do(req)); err != nil {
		return "", fmt.Errorf("seed secret: %w", err)
	}
	return tok.AccessToken, nil
}

// ceiling measures a bare Go HTTPS server on this machine answering payload to every request, with the same
// TLS configuration as keyhaven's and the same client.
func ceiling(caPath string, tlsConf *tls.Config, payload []byte, concurrency int, d time.Duration) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(payload)
	}), TLSConfig: tlsConf}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	client, err := newClient(caPath, ln.Addr().String(), concurrency)
	if err != nil {
		return result{}, err
	}
	return drive("ceiling", concurrency, d, func(int, int) error {
		req, _ := http.NewRequest("GET", "https://benchvault.vault.azure.net/secrets/hot/?api-version=2026-04-01", nil)
		req.Header.Set("Authorization", "Bearer x")
		return expect(client.Do(req))
	}), nil
}
