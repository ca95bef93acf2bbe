package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/geomap"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const (
	// dayStep is the minimum interval of daily and monthly panels: one
	// point per day at 00:00 UTC.
	dayStep = "1d"
	// minuteStep is the minimum interval of the exporter health panels;
	// it must not be shorter than the scrape interval.
	minuteStep = "1m"
	// maxPoints caps the points per series. With a 1-year range it keeps
	// Grafana's own interval (range/maxPoints, 8.8h) below dayStep, and with
	// 6 hours below minuteStep, so the step is exactly the panel interval.
	maxPoints = 1000
	// yearRange is the relative time of monthly panels on dashboards
	// showing 30 days: 12 months.
	yearRange = "1y"
)

// Units used by the panels (Grafana unit ids).
const (
	unitCount   = "short"
	unitRatio   = "percentunit"
	unitSeconds = "s"
	unitDay     = "time:YYYY-MM-DD" // a date from a millisecond timestamp
	unitMonth   = "time:YYYY-MM"
	unitNone    = "none"
)

// query is a target before its refId is known.
type query = *prometheus.DataqueryBuilder

// rangeQuery is a time series query, plotted with legend.
func rangeQuery(expr, legend string) query {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasourceRef()).
		EditorMode(prometheus.QueryEditorModeCode).
		Expr(expr).
		LegendFormat(legend).
		Range()
}

// instantQuery is a current-value query, evaluated at the end of the range.
func instantQuery(expr, legend string) query {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasourceRef()).
		EditorMode(prometheus.QueryEditorModeCode).
		Expr(expr).
		LegendFormat(legend).
		Instant()
}

// tableQuery is an instant query whose labels become table columns.
func tableQuery(expr string) query {
	return instantQuery(expr, "__auto").Format(prometheus.PromQueryFormatTable)
}

// panelBuilder is what every SDK panel builder offers; setup fills it.
type panelBuilder[T any] interface {
	Title(string) T
	Description(string) T
	Unit(string) T
	Datasource(common.DataSourceRef) T
	WithTarget(cog.Builder[variants.Dataquery]) T
	Span(uint32) T
	Height(uint32) T
}

// setup sets what every panel has: title, description, unit, the
// datasource variable, and targets with refIds A, B, …
func setup[T panelBuilder[T]](p T, title, description, unit string, queries []query) T {
	p.Title(title)
	p.Description(description)
	p.Unit(unit)
	p.Datasource(datasourceRef())
	p.Span(12)
	p.Height(8)
	for i, q := range queries {
		p.WithTarget(q.RefId(string(rune('A' + i))))
	}
	return p
}

// dailyBars shows one bar per day, starting at the day's 00:00 UTC.
func dailyBars(title, description, unit string, stacked bool, queries ...query) *timeseries.PanelBuilder {
	return bars(title, description, unit, stacked, queries).
		BarAlignment(common.BarAlignmentAfter)
}

// monthlyBars shows one bar per month, ending on the month's last day (or
// on the last day with data, for the current month). On dashboards with a
// shorter range, add TimeFrom(yearRange).
func monthlyBars(title, description, unit string, stacked bool, queries ...query) *timeseries.PanelBuilder {
	return bars(title, description, unit, stacked, queries).
		BarAlignment(common.BarAlignmentBefore)
}

func bars(title, description, unit string, stacked bool, queries []query) *timeseries.PanelBuilder {
	stacking := common.StackingModeNone
	if stacked {
		stacking = common.StackingModeNormal
	}
	return setup(timeseries.NewPanelBuilder(), title, description, unit, queries).
		Interval(dayStep).
		MaxDataPoints(maxPoints).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(70).
		LineWidth(1).
		BarWidthFactor(0.8).
		ShowPoints(common.VisibilityModeNever).
		Stacking(common.NewStackingConfigBuilder().Mode(stacking)).
		Min(0).
		Legend(legend()).
		Tooltip(tooltip())
}

// dailyLines shows a line with one point per day.
func dailyLines(title, description, unit string, queries ...query) *timeseries.PanelBuilder {
	return lines(title, description, unit, dayStep, queries)
}

// healthLines shows a minute-by-minute line of the exporter's own metrics.
func healthLines(title, description, unit string, queries ...query) *timeseries.PanelBuilder {
	return lines(title, description, unit, minuteStep, queries)
}

func lines(title, description, unit, interval string, queries []query) *timeseries.PanelBuilder {
	return setup(timeseries.NewPanelBuilder(), title, description, unit, queries).
		Interval(interval).
		MaxDataPoints(maxPoints).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(2).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeAuto).
		Min(0).
		Legend(legend()).
		Tooltip(tooltip())
}

func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		ShowLegend(true).
		Calcs([]string{"lastNotNull", "max"})
}

// tooltip lists every series at the cursor, largest first.
func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().
		Mode(common.TooltipDisplayModeMulti).
		Sort(common.SortOrderDescending)
}

// lastValue reduces a current-value panel's series to their last value.
func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

// statPanel shows current values as big numbers.
func statPanel(title, description, unit string, queries ...query) *stat.PanelBuilder {
	return setup(stat.NewPanelBuilder(), title, description, unit, queries).
		Span(4).
		Height(4).
		ReduceOptions(lastValue()).
		Orientation(common.VizOrientationAuto).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeNone).
		TextMode(common.BigValueTextModeAuto)
}

// barGauge compares current values side by side.
func barGauge(title, description, unit string, queries ...query) *bargauge.PanelBuilder {
	return setup(bargauge.NewPanelBuilder(), title, description, unit, queries).
		ReduceOptions(lastValue()).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		ShowUnfilled(true).
		Min(0)
}

// pieChart shows the shares of current values.
func pieChart(title, description, unit string, queries ...query) *piechart.PanelBuilder {
	return setup(piechart.NewPanelBuilder(), title, description, unit, queries).
		ReduceOptions(lastValue()).
		PieType(piechart.PieChartTypeDonut).
		Orientation(common.VizOrientationAuto).
		Tooltip(tooltip()).
		Legend(piechart.NewPieChartLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementRight).
			ShowLegend(true).
			Values([]piechart.PieChartLegendValues{piechart.PieChartLegendValuesValue, piechart.PieChartLegendValuesPercent}))
}

// tablePanel lists instant table queries, merged on their labels, without
// the time column. Name the value columns with column.
func tablePanel(title, description, unit string, queries ...query) *table.PanelBuilder {
	return setup(table.NewPanelBuilder(), title, description, unit, queries).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "__name__": true},
		}}).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
}

// column names a table's field and sets its unit. A table of one query has
// one "Value" field; of several, "Value #A", "Value #B", …
func column(p *table.PanelBuilder, field, name, unit string, more ...dashboard.DynamicConfigValue) *table.PanelBuilder {
	return p.OverrideByName(field, append([]dashboard.DynamicConfigValue{
		{Id: "displayName", Value: name},
		{Id: "unit", Value: unit},
	}, more...))
}

// stageBars compares sign-up stages in the order of a flow: one group of
// horizontal bars per stage, one bar per query, named by names. The queries
// are instant table queries of series with a stage label and inStageOrder's
// step label, which sorts the groups and is then hidden.
func stageBars(title, description, unit string, names []string, queries ...query) *barchart.PanelBuilder {
	rename := map[string]any{}
	for i, name := range names {
		field := "Value"
		if len(queries) > 1 {
			field = fmt.Sprintf("Value #%c", 'A'+i)
		}
		rename[field] = name
	}
	return setup(barchart.NewPanelBuilder(), title, description, unit, queries).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "sortBy", Options: map[string]any{
			"fields": map[string]any{},
			"sort":   []any{map[string]any{"field": stepLabel}},
		}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, stepLabel: true},
			"renameByName":  rename,
		}}).
		XField("stage").
		Orientation(common.VizOrientationHorizontal).
		Stacking(common.StackingModeNone).
		ShowValue(common.VisibilityModeAuto).
		Min(0).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(tooltip())
}

// worldMap places the value of each country (a "country" column holding
// ISO 3166 alpha-2 codes) as a bubble on a world map.
func worldMap(title, description, unit string, queries ...query) *geomap.PanelBuilder {
	return setup(geomap.NewPanelBuilder(), title, description, unit, queries).
		View(geomap.NewMapViewConfigBuilder().Id("zero").Lat(0).Lon(0).Zoom(1)).
		Controls(geomap.NewControlsOptionsBuilder().ShowZoom(true).MouseWheelZoom(false)).
		Basemap(common.NewMapLayerOptionsBuilder().Type("default").Name("Basemap")).
		Layers([]cog.Builder[common.MapLayerOptions]{
			common.NewMapLayerOptionsBuilder().
				Type("markers").
				Name("Countries").
				Location(common.NewFrameGeometrySourceBuilder().
					Mode(common.FrameGeometrySourceModeLookup).
					Lookup("country").
					Gazetteer("public/gazetteer/countries.json")).
				Config(map[string]any{
					"showLegend": true,
					"style": map[string]any{
						"size":    map[string]any{"field": "Value", "min": 4, "max": 30, "fixed": 5},
						"color":   map[string]any{"field": "Value"},
						"opacity": 0.6,
					},
				}).
				Tooltip(true),
		}).
		Tooltip(geomap.NewTooltipOptionsBuilder().Mode(geomap.TooltipModeDetails)).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdContinuousBlues))
}

// row starts a titled section; the panels after it belong to it.
func row(title string) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title)
}
