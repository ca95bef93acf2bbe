// The entra_insights_exporter mixin: the Grafana dashboards and the
// Prometheus rules, as committed in grafana-dashboards/ and
// deploy/prometheus/rules.yml. This directory holds copies of them that
// `go generate ./...` writes (jsonnet-bundler vendors only this directory);
// do not edit them, nor this file's output, by hand.
//
// The rules stay in their groups as written: the data group's alerts read
// the recording rules before them in the same group, so that every
// evaluation sees this round's values. So everything is in
// prometheusAlerts, and prometheusRules is empty; load both, as usual.
local rules = std.parseYaml(importstr 'rules.yml');

{
  grafanaDashboards+:: {
    'users.json': std.parseJson(importstr 'dashboards/users.json'),
    'requests.json': std.parseJson(importstr 'dashboards/requests.json'),
    'authentications.json': std.parseJson(importstr 'dashboards/authentications.json'),
    'exporter-health.json': std.parseJson(importstr 'dashboards/exporter-health.json'),
  },

  prometheusAlerts+:: {
    groups+: rules.groups,
  },

  prometheusRules+:: {
    groups+: [],
  },
}
