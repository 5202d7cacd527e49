package metrics

import "github.com/prometheus/client_golang/prometheus"

// Plugin is what the metrics read from one enabled bridge plugin at each scrape.
type Plugin struct {
	ID       string
	Restarts uint64 // times its process was relaunched after dying
	Up       bool   // whether its process is running now
}

// Plugins exports smsplus_plugin_restarts_total and smsplus_plugin_up for the
// plugins that list returns, read at each scrape (pluginhost.Manager).
func (m *Metrics) Plugins(list func() []Plugin) {
	m.reg.MustRegister(&pluginCollector{list: list})
}

var (
	pluginRestartsDesc = prometheus.NewDesc(namespace+"_plugin_restarts_total",
		"Times a bridge plugin's process was relaunched after it died, by bridge.", []string{"bridge"}, nil)
	pluginUpDesc = prometheus.NewDesc(namespace+"_plugin_up",
		"1 while the bridge plugin's process is running, else 0.", []string{"bridge"}, nil)
)

type pluginCollector struct{ list func() []Plugin }

func (c *pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pluginRestartsDesc
	ch <- pluginUpDesc
}

func (c *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.list() {
		up := 0.0
		if p.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginRestartsDesc, prometheus.CounterValue, float64(p.Restarts), p.ID)
		ch <- prometheus.MustNewConstMetric(pluginUpDesc, prometheus.GaugeValue, up, p.ID)
	}
}
