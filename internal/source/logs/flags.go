package logs

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// Flags are the logs source's command-line flags (kong tags), plugged into
// the command line by its registry entry. Each name carries the source's
// name as its prefix: kong gives one prefix to all of a command's plugins.
type Flags struct {
	Lookback model.Duration `name:"logs.lookback" default:"7d" help:"How far back the logs source's first start reads: by default what an External ID tenant keeps (7 days); at most 30d, the longest Graph keeps (workforce tenants with Entra ID P1/P2). A start Graph refuses as too far back moves forward by itself."`
	Overlap  model.Duration `name:"logs.overlap" default:"3h" help:"How late an event may appear in the log and still be counted, in the period it happened in: re-read once an hour (the last 5 minutes are re-read on every refresh); events are deduplicated by id."`
}

// Validate checks the flags; kong calls it after parsing and prints its
// error as one line.
func (f *Flags) Validate() error {
	lookback, overlap := time.Duration(f.Lookback), time.Duration(f.Overlap)
	switch {
	case lookback < time.Hour || lookback > 30*24*time.Hour:
		return fmt.Errorf("--logs.lookback: %s is not between 1h and 30d (Graph keeps the activity logs for at most 30 days)", f.Lookback)
	case overlap < time.Minute || overlap >= lookback:
		return fmt.Errorf("--logs.overlap: %s must be at least 1m and shorter than --logs.lookback %s", f.Overlap, f.Lookback)
	}
	return nil
}
