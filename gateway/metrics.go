package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/dataplane"
	"github.com/p2sgw/p2sgw/session"
)

// metrics are the gateway's Prometheus metrics. Most are read from the state they describe
// when scraped (sessions, pools, the data plane's counters, the RADIUS servers), so the data
// path pays nothing for them; events (refusals, ended sessions' traffic) are counted as they
// happen.
type metrics struct {
	g   *Gateway
	reg *prometheus.Registry

	refused   *prometheus.CounterVec   // handshakes refused, by protocol, stage and reason
	ikeEvents *prometheus.CounterVec   // rekeys and dead peers of established IKE SAs
	radiusRTT *prometheus.HistogramVec // RADIUS answer latency, by server and kind

	mu    sync.Mutex // guards ended
	ended session.Traffic

	established atomic.Uint64
}

func newMetrics(g *Gateway) *metrics {
	m := &metrics{
		g: g, reg: prometheus.NewRegistry(),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "p2sgw_handshake_refusals_total",
			Help: "Connection attempts the gateway refused, by protocol, stage and reason (the IKEv2 notify, or the SSTP/PPP reason).",
		}, []string{"protocol", "stage", "reason"}),
	}
	m.ikeEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "p2sgw_ike_events_total",
		Help: "Events of established IKEv2 sessions: child_sa_rekey, ike_sa_rekey, dead_peer (a client that stopped answering and was removed).",
	}, []string{"event"})
	m.radiusRTT = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "p2sgw_radius_request_duration_seconds",
		Help:    "Time from sending a RADIUS request to its authentic answer (retransmissions included), by server and kind (access, accounting).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"server", "kind"})
	m.reg.MustRegister(m.refused, m.ikeEvents, m.radiusRTT, m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// withMetrics serves /metrics (the Prometheus exposition) beside h.
func (g *Gateway) withMetrics(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	// Go's profiles, for a developer chasing CPU or memory: admin listeners only (the socket is
	// root's; TCP needs an admin certificate), never on metrics_listen.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/", h)
	return mux
}

// listenMetrics serves /metrics and /healthz in plain HTTP on metrics_listen, if set.
func (g *Gateway) listenMetrics(cfg *config.Config) error {
	if cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics_listen %s: %w", cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	g.serveHTTP(api.Listener{Name: "metrics", Network: "tcp", Address: ln.Addr().String()}, ln, mux, nil)
	return nil
}

// observeRADIUS records the latency of one RADIUS answer (radius.Config.Observe).
func (m *metrics) observeRADIUS(server, kind string, d time.Duration) {
	m.radiusRTT.WithLabelValues(server, kind).Observe(d.Seconds())
}

// refuse counts a refused handshake.
func (m *metrics) refuse(protocol, stage, reason string) {
	m.refused.WithLabelValues(protocol, stage, reason).Inc()
}

// removeSession unregisters the session id and keeps its traffic in the totals, as one step
// for a scrape, so the counters never go back nor count twice. It returns the session's
// traffic (zero if it was not registered).
func (m *metrics) removeSession(ctx context.Context, id string) (t session.Traffic) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.g.sessions.Get(id); s != nil {
		t = s.Traffic()
		m.ended.IngressBytes += t.IngressBytes
		m.ended.IngressPackets += t.IngressPackets
		m.ended.EgressBytes += t.EgressBytes
		m.ended.EgressPackets += t.EgressPackets
	}
	m.g.sessions.Remove(ctx, id)
	return t
}

var (
	descConnections = prometheus.NewDesc("p2sgw_connections", "Live connections, by protocol and authentication method.", []string{"protocol", "auth_method"}, nil)
	descEstablished = prometheus.NewDesc("p2sgw_connections_established_total", "Connections that became sessions.", nil, nil)
	descBytes       = prometheus.NewDesc("p2sgw_tunnel_bytes_total", "Bytes of IP packets through client tunnels: in is from clients, out is to them.", []string{"direction"}, nil)
	descPackets     = prometheus.NewDesc("p2sgw_tunnel_packets_total", "IP packets through client tunnels: in is from clients, out is to them.", []string{"direction"}, nil)
	descDrops       = prometheus.NewDesc("p2sgw_dataplane_drops_total", "Packets the data plane dropped, by reason.", []string{"reason"}, nil)
	descPoolSize    = prometheus.NewDesc("p2sgw_pool_addresses", "Addresses a client address pool can lease.", []string{"pool"}, nil)
	descPoolInUse   = prometheus.NewDesc("p2sgw_pool_addresses_in_use", "Addresses leased to live connections.", []string{"pool"}, nil)
	descRate        = prometheus.NewDesc("p2sgw_throughput_limit_bits_per_second", "The throughput limit in each direction (the SKU's rate); 0: unlimited.", nil, nil)
	descRADIUSUp    = prometheus.NewDesc("p2sgw_radius_server_up", "1 if the RADIUS server's last request was answered, 0 if not, -1 if not asked yet.", []string{"server"}, nil)
	descRADIUSReq   = prometheus.NewDesc("p2sgw_radius_requests_total", "Requests sent to the RADIUS server (access and accounting).", []string{"server"}, nil)
	descRADIUSTO    = prometheus.NewDesc("p2sgw_radius_timeouts_total", "Requests the RADIUS server did not answer within their tries.", []string{"server"}, nil)
	descRADIUSBad   = prometheus.NewDesc("p2sgw_radius_bad_responses_total", "Answers dropped as not authentic or malformed.", []string{"server"}, nil)
)

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

// Collect implements prometheus.Collector: the live state, read now.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	g := m.g
	type key struct{ protocol, auth string }
	counts := map[key]int{}
	m.mu.Lock()
	total := m.ended
	live := g.sessions.List()
	m.mu.Unlock()
	for _, s := range live {
		counts[key{s.Protocol, s.AuthMethod}]++
		t := s.Traffic()
		total.IngressBytes += t.IngressBytes
		total.IngressPackets += t.IngressPackets
		total.EgressBytes += t.EgressBytes
		total.EgressPackets += t.EgressPackets
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(n), k.protocol, k.auth)
	}
	ch <- prometheus.MustNewConstMetric(descEstablished, prometheus.CounterValue, float64(m.established.Load()))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(total.IngressBytes), "in")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(total.EgressBytes), "out")
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(total.IngressPackets), "in")
	ch <- prometheus.MustNewConstMetric(descPackets, prometheus.CounterValue, float64(total.EgressPackets), "out")
	g.mu.RLock()
	plane, pools := g.plane, g.pools
	g.mu.RUnlock()
	if plane != nil {
		ch <- prometheus.MustNewConstMetric(descRate, prometheus.GaugeValue, float64(plane.Rate()))
		for _, r := range dataplane.DropReasons() {
			ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(plane.Drops(r)), r.String())
		}
	}
	for _, p := range pools {
		ch <- prometheus.MustNewConstMetric(descPoolSize, prometheus.GaugeValue, float64(p.Size()), p.Prefix().String())
		ch <- prometheus.MustNewConstMetric(descPoolInUse, prometheus.GaugeValue, float64(p.InUse()), p.Prefix().String())
	}
	if g.aaa != nil {
		for _, s := range g.aaa.client.Status() {
			up := map[string]float64{"up": 1, "down": 0}[s.State]
			if s.State == "unknown" {
				up = -1
			}
			ch <- prometheus.MustNewConstMetric(descRADIUSUp, prometheus.GaugeValue, up, s.Address)
			ch <- prometheus.MustNewConstMetric(descRADIUSReq, prometheus.CounterValue, float64(s.Requests), s.Address)
			ch <- prometheus.MustNewConstMetric(descRADIUSTO, prometheus.CounterValue, float64(s.Timeouts), s.Address)
			ch <- prometheus.MustNewConstMetric(descRADIUSBad, prometheus.CounterValue, float64(s.BadResponses), s.Address)
		}
	}
}
