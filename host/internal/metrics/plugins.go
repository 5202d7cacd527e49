package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Plugin is what the metrics read from one enabled bridge plugin at each scrape.
type Plugin struct {
	ID       string
	Restarts uint64 // times its process was relaunched after dying
	Up       bool   // whether its process is running now
	// Deadline is how long the bridge's vendor waits for a hook's answer
	// (Okta: 3 s); 0 when the vendor does not document it.
	Deadline time.Duration
}

// Plugins exports smsplus_plugin_restarts_total, smsplus_plugin_up and
// smsplus_bridge_deadline_seconds for the plugins that list returns, read at
// each scrape (pluginhost.Manager). The deadline lets one alert rule compare
// each bridge's hook latency with its own vendor's deadline.
func (m *Metrics) Plugins(list func() []Plugin) {
	m.register(&pluginCollector{list: list})
}

var (
	pluginRestartsDesc = prometheus.NewDesc(namespace+"_plugin_restarts_total",
		"Times a bridge plugin's process was relaunched after it died, by bridge.", []string{"bridge"}, nil)
	pluginUpDesc = prometheus.NewDesc(namespace+"_plugin_up",
		"1 while the bridge plugin's process is running, else 0.", []string{"bridge"}, nil)
	bridgeDeadlineDesc = prometheus.NewDesc(namespace+"_bridge_deadline_seconds",
		"How long the bridge's vendor waits for a hook's answer (Okta: 3), by bridge; absent when the vendor does not say.", []string{"bridge"}, nil)
)

type pluginCollector struct{ list func() []Plugin }

func (c *pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pluginRestartsDesc
	ch <- pluginUpDesc
	ch <- bridgeDeadlineDesc
}

func (c *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.list() {
		up := 0.0
		if p.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginRestartsDesc, prometheus.CounterValue, float64(p.Restarts), p.ID)
		ch <- prometheus.MustNewConstMetric(pluginUpDesc, prometheus.GaugeValue, up, p.ID)
		if p.Deadline > 0 {
			ch <- prometheus.MustNewConstMetric(bridgeDeadlineDesc, prometheus.GaugeValue, p.Deadline.Seconds(), p.ID)
		}
	}
}
