package graph

import (
	"context"
	"errors"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
)

// page is one page of a report.
type page struct {
	rows     []insights.Row
	skipped  int    // items without a usable factDate
	nextLink string // "" on the last page
}

// pageFunc reads a report's first page (nextLink "") or the page at
// nextLink.
type pageFunc func(ctx context.Context, nextLink string) (page, error)

// builder is what every typed userInsights collection request builder of
// the SDK offers: Get with its own configuration type, and WithUrl to
// follow @odata.nextLink.
type builder[B any, Cfg any, C any] interface {
	Get(ctx context.Context, cfg *Cfg) (C, error)
	WithUrl(rawURL string) B
}

// collection is a collection response page of items T.
type collection[T any] interface {
	GetValue() []T
	GetOdataNextLink() *string
}

// pages adapts one typed request builder to a pageFunc.
func pages[B builder[B, Cfg, C], Cfg any, T dated, C collection[T]](b B, row func(T) insights.Row) pageFunc {
	return func(ctx context.Context, nextLink string) (page, error) {
		req := b
		if nextLink != "" {
			req = b.WithUrl(nextLink)
		}
		resp, err := req.Get(ctx, nil)
		if err != nil {
			return page{}, err
		}
		if any(resp) == nil {
			return page{}, transport.BadResponse(errors.New("empty response body"))
		}
		rows, skipped := toRows(resp.GetValue(), row)
		return page{rows: rows, skipped: skipped, nextLink: str(resp.GetOdataNextLink())}, nil
	}
}
