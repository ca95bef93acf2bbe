package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
		"sort"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

func TestZZDebug(t *testing.T) {
	bin := promtest.BuildExporter(t)
	dir := t.TempDir()
	history := filepath.Join(dir, "backfill.om")
	backfill(t, bin, history)
	data := filepath.Join(dir, "data")
	fmt.Println("blocks", promtest.CreateBlocks(t, history, data))
	os.Remove(history)
	exporter := promtest.StartExporter(t, bin, "serve", "--demo")
	full := promtest.StartPrometheus(t, promtest.Options{DataDir: data, Targets: []string{exporter}, Retention: "400d", ScrapeInterval: "15s"})
	for i := 0; i < 8; i++ {
		r, err := full.Query(t, `count(last_over_time(entra_insights_daily_summary_mfa_requests[30d]))`, time.Now())
		fmt.Println(time.Now().Format("15:04:05"), r, err)
		time.Sleep(10 * time.Second)
	}
	targets, _ := AllTargets()
	f, _ := os.Create("/tmp/pt/debug.txt")
	defer f.Close()
	for _, tg := range targets {
		expr := expand(tg.Expr)
		now := time.Now()
		var res promtest.Result
		var err error
		if tg.Instant {
			res, err = full.Query(t, expr, now)
		} else {
			w, _ := window(tg, now)
			res, err = full.QueryRange(t, expr, w.start, w.end, w.step)
		}
		ts := map[int64]bool{}
		for _, s := range res.Series {
			for _, p := range s.Samples {
				ts[p.T.Unix()] = true
			}
		}
		var keys []int64
		for k := range ts { keys = append(keys, k) }
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		first, last := "", ""
		if len(keys) > 0 {
			first = time.Unix(keys[0], 0).UTC().Format("01-02T15:04")
			last = time.Unix(keys[len(keys)-1], 0).UTC().Format("01-02T15:04")
		}
		fmt.Fprintf(f, "%-70s series=%3d points=%3d %s..%s err=%v\n", tg.String(), len(res.Series), len(keys), first, last, err)
		if tg.Panel == "Monthly active users" || tg.Panel == "Daily active and inactive users" || tg.Panel == "Total users" {
			for _, s := range res.Series {
				for _, p := range s.Samples {
					fmt.Fprintf(f, "   %v %s %.0f\n", s.Labels, p.T.Format("2006-01-02"), p.V)
				}
			}
		}
	}
}
