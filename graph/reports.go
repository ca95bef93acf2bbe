package graph

import (
	"context"
	"errors"

	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"

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

// reportPages maps each of the 18 reports to its typed request builder.
func reportPages(ui *reports.UserInsightsRequestBuilder) map[insights.Report]pageFunc {
	d, m := ui.Daily(), ui.Monthly()
	return map[insights.Report]pageFunc{
		{Granularity: insights.Daily, Name: insights.ActiveUsers}:                  pages(d.ActiveUsers(), activeUsersRow),
		{Granularity: insights.Daily, Name: insights.Authentications}:              pages(d.Authentications(), authenticationsRow),
		{Granularity: insights.Daily, Name: insights.InactiveUsers}:                pages(d.InactiveUsers(), dailyInactiveUsersRow),
		{Granularity: insights.Daily, Name: insights.InactiveUsersByApplication}:   pages(d.InactiveUsersByApplication(), dailyInactiveByAppRow),
		{Granularity: insights.Daily, Name: insights.MFACompletions}:               pages(d.MfaCompletions(), mfaCompletionsRow),
		{Granularity: insights.Daily, Name: insights.MFATelecomFraud}:              pages(d.MfaTelecomFraud(), mfaTelecomFraudRow),
		{Granularity: insights.Daily, Name: insights.SignUps}:                      pages(d.SignUps(), signUpsRow),
		{Granularity: insights.Daily, Name: insights.Summary}:                      pages(d.Summary(), summaryRow),
		{Granularity: insights.Daily, Name: insights.UserCount}:                    pages(d.UserCount(), userCountRow),
		{Granularity: insights.Monthly, Name: insights.ActiveUsers}:                pages(m.ActiveUsers(), activeUsersRow),
		{Granularity: insights.Monthly, Name: insights.Authentications}:            pages(m.Authentications(), authenticationsRow),
		{Granularity: insights.Monthly, Name: insights.InactiveUsers}:              pages(m.InactiveUsers(), monthlyInactiveUsersRow),
		{Granularity: insights.Monthly, Name: insights.InactiveUsersByApplication}: pages(m.InactiveUsersByApplication(), monthlyInactiveByAppRow),
		{Granularity: insights.Monthly, Name: insights.MFACompletions}:             pages(m.MfaCompletions(), mfaCompletionsRow),
		{Granularity: insights.Monthly, Name: insights.MFARegisteredUsers}:         pages(m.MfaRegisteredUsers(), mfaRegisteredUsersRow),
		{Granularity: insights.Monthly, Name: insights.Requests}:                   pages(m.Requests(), requestsRow),
		{Granularity: insights.Monthly, Name: insights.SignUps}:                    pages(m.SignUps(), signUpsRow),
		{Granularity: insights.Monthly, Name: insights.Summary}:                    pages(m.Summary(), summaryRow),
	}
}
