// Package metrics is keyhaven's Prometheus registry: the request metrics every API feeds through the HTTP edge,
// process and Go runtime metrics, and the handler that serves them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds keyhaven's collectors. Each server has its own registry, so tests can run several side by side.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New registers keyhaven's collectors on a new registry.
func New(version string) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhaven_http_requests_total",
			Help: "HTTP requests answered, by area (vault, login, management, graph, server), method and status code.",
		}, []string{"area", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyhaven_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by area.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"area"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "keyhaven_build_info",
		Help: "Always 1; the version label says which keyhaven is running.",
	}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	m.Registry.MustRegister(m.requests, m.duration, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe implements httpx.Observer.
func (m *Metrics) Observe(area, method string, status int, elapsed time.Duration) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // bound the label's values
	}
	m.requests.WithLabelValues(area, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(area).Observe(elapsed.Seconds())
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
