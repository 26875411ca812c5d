package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/testenv"
)

// BenchmarkClientCredentials measures token issuance end to end: client_credentials with a client secret over
// HTTPS (keep-alive), in parallel, reported as tokens/s. RSA-2048 signing dominates.
func BenchmarkClientCredentials(b *testing.B) {
	env := testenv.Start(b, testenv.Options{})
	app, err := env.App.Directory().CreateApplication(b.Context(), env.TenantID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.App.Directory().CreateServicePrincipal(b.Context(), env.TenantID, app.AppID); err != nil {
		b.Fatal(err)
	}
	_, secret, err := env.App.Directory().AddPassword(b.Context(), env.TenantID, app.ID, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.AppID}, "client_secret": {secret},
		"scope": {"https://vault.azure.net/.default"}}.Encode()
	u := "https://login.microsoftonline.com/" + env.TenantID + "/oauth2/v2.0/token"
	// HTTP/1.1 with a connection per worker, as a fleet of clients would arrive, rather than one HTTP/2
	// connection whose framing serializes on a single goroutine.
	client := env.Client(b)
	tr := client.Transport.(*http.Transport)
	tr.ForceAttemptHTTP2 = false
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
}
