"""How change is going: DORA's metrics from the change records, and gauges for Prometheus."""
