package graph

import (
	"context"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// page is one page of a report.
type page struct {
	rows    []insights.Row
	skipped int // items without a usable factDate
}

// pageFunc reads a report's first page (nextLink "") or the page at
// nextLink, and returns it with the nextLink after it ("" on the last
// page).
type pageFunc func(ctx context.Context, nextLink string) (page, string, error)

// builder is what every typed collection request builder of the SDK
// offers: Get with its own configuration type, and WithUrl to follow
// @odata.nextLink.
type builder[B any, Cfg any, C any] interface {
	Get(ctx context.Context, cfg *Cfg) (C, error)
	WithUrl(rawURL string) B
}

// collection is a collection response page of items T.
type collection[T any] interface {
	GetValue() []T
	GetOdataNextLink() *string
}

// pages adapts one typed request builder to a pageFunc: the pages of
// collectionPages with no query options, their items copied into rows.
func pages[B builder[B, Cfg, C], Cfg any, T dated, C collection[T]](b B, row func(T) insights.Row) pageFunc {
	get := collectionPages[B, Cfg, T, C](b, nil)
	return func(ctx context.Context, nextLink string) (page, string, error) {
		items, next, err := get(ctx, nextLink)
		if err != nil {
			return page{}, "", err
		}
		rows, skipped := toRows(items, row)
		return page{rows: rows, skipped: skipped}, next, nil
	}
}
