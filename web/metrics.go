package web

import (
	"database/sql"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/warden-console/warden/models"
)

// Metrics holds the Prometheus collectors served on --metrics-addr. Labels
// use route patterns (/users/:id), never raw paths, so a scan of random URLs
// cannot blow up the number of series.
type Metrics struct {
	Registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	tokenAuth *prometheus.CounterVec
}

// NewMetrics registers Warden's collectors, the Go runtime's and the
// database pool's.
func NewMetrics(db *sql.DB) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "warden_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		tokenAuth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_token_authentications_total", Help: "Bearer token authentications by outcome.",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.tokenAuth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "warden"))
	}
	return m
}

// TokenAuth counts one bearer authentication outcome.
func (m *Metrics) TokenAuth(outcome string) {
	if m != nil {
		m.tokenAuth.WithLabelValues(outcome).Inc()
	}
}

// watchWrites reports the store's queue of write transactions.
func (m *Metrics) watchWrites(s *models.Store) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "warden_db_write_queue", Help: "Write transactions of this process waiting for their turn.",
	}, func() float64 { return float64(s.WritersWaiting()) }))
}

// observe records one finished request.
func (m *Metrics) observe(c *fiber.Ctx, start time.Time) {
	if m == nil {
		return
	}
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "" {
		route = r.Path
	}
	m.requests.WithLabelValues(route, c.Method(), strconv.Itoa(c.Response().StatusCode())).Inc()
	m.latency.WithLabelValues(route, c.Method()).Observe(time.Since(start).Seconds())
}
