package main

import (
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// applyBuildInfo fills in the version that -ldflags -X did not set, from
// what the Go toolchain records in every binary: go install …@v1.2.3
// records the module version v1.2.3, a plain go build in a clone a
// pseudo-version and the commit and its time. Values from ldflags win.
func applyBuildInfo(info *debug.BuildInfo) {
	v, revision, date := fromBuildInfo(info)
	if version.Version == "" {
		version.Version = v
	}
	if version.Revision == "" {
		version.Revision = revision
	}
	if version.BuildDate == "" {
		version.BuildDate = date
	}
}

// fromBuildInfo returns the module version, VCS revision and commit time
// recorded in info; "" for a revision or time it lacks, "devel" for a
// version.
func fromBuildInfo(info *debug.BuildInfo) (v, revision, date string) {
	if info == nil {
		return "devel", "", ""
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	v = info.Main.Version
	if v == "(devel)" { // built without module or VCS information
		v = ""
	}
	switch {
	case v == "" && revision != "":
		v = "devel-" + revision[:min(12, len(revision))]
	case v == "":
		// Built with -buildvcs=false (some machines set it in go env) or
		// outside a clone: say it is a development build, as Go's own
		// toolchain does, rather than print an empty version.
		v = "devel"
	}
	if revision != "" && modified {
		revision += "-modified"
	}
	return v, revision, date
}
