// Package test evaluates the jsonnet mixin (mixin/mixin.libsonnet) with
// go-jsonnet and checks that its dashboards and rules are the generated
// ones. It is its own module so that go-jsonnet stays out of the
// exporter's go.mod.
package test
