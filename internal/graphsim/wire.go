package graphsim

import (
	"strconv"
	"unicode/utf8"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// schema returns the properties of report r's rows after id and factDate,
// as the report catalog declares them: the names, kinds and order of the
// SDK models and the reference examples.
func schema(r insights.Report) []insights.Field {
	spec, _ := insights.SpecOf(r.Name)
	return spec.FieldsAt(r.Granularity)
}

// entityType returns the OData type name of report r's rows.
func entityType(r insights.Report) string {
	if spec, ok := insights.SpecOf(r.Name); ok && spec.Entity != "" {
		return spec.EntityType(r.Granularity)
	}
	return "entity"
}

// encoder writes facts as Graph's JSON. wrongTypes sends every number as a
// string, for the FaultWrongTypes fault.
type encoder struct {
	report     insights.Report
	fields     []insights.Field
	wrongTypes bool
	// hideNewEnums sends unknownFutureValue for evolvable enum members.
	hideNewEnums bool
	// dateTime sends factDate as a date-time at 00:00 UTC.
	dateTime bool
}

// evolvableReasonCodes are the members of authenticationFailureReasonCode
// after unknownFutureValue, which Graph sends as unknownFutureValue unless
// asked with Prefer: include-unknown-enum-members. (mfaFailureReasonCode
// and mfaType have none.)
func evolvableReasonCode(code string) bool { return code == "userError" || code == "configError" }

func newEncoder(r insights.Report, wrongTypes bool) *encoder {
	return &encoder{report: r, fields: schema(r), wrongTypes: wrongTypes}
}

// appendFact appends f as one JSON object, with an @odata.context first
// unless context is empty.
func (e *encoder) appendFact(b []byte, f *fact, context string) []byte {
	b = append(b, '{')
	if context != "" {
		b = append(b, `"@odata.context":`...)
		b = appendString(b, context)
		b = append(b, ',')
	}
	if f.odataType {
		b = append(b, `"@odata.type":"#microsoft.graph.`...)
		b = append(b, entityType(e.report)...)
		b = append(b, `",`...)
	}
	b = append(b, `"id":`...)
	b = appendString(b, f.id)
	b = append(b, `,"factDate":"`...)
	if e.dateTime {
		b = f.row.FactDate.AppendFormat(b, "2006-01-02T15:04:05Z")
	} else {
		b = f.row.FactDate.AppendFormat(b, "2006-01-02")
	}
	b = append(b, '"')
	for _, fl := range e.fields {
		b = append(b, ',')
		b = appendString(b, fl.Name)
		b = append(b, ':')
		switch {
		case f.isNull(fl.Name):
			b = append(b, "null"...)
		case fl.Str != nil:
			b = appendString(b, fl.Str(&f.row))
		case fl.Num != nil:
			b = e.appendNumber(b, fl.Num(&f.row))
		default:
			b = e.appendFailures(b, fl.Failures(&f.row))
		}
	}
	if f.extra {
		b = append(b, `,"newDimension":"x"`...)
	}
	return append(b, '}')
}

func (e *encoder) appendNumber(b []byte, n int64) []byte {
	if e.wrongTypes {
		return append(b, `"abc"`...)
	}
	return strconv.AppendInt(b, n, 10)
}

func (e *encoder) appendFailures(b []byte, fs []insights.Failure) []byte {
	b = append(b, '[')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"count":`...)
		b = e.appendNumber(b, f.Count)
		b = append(b, `,"reason":`...)
		b = appendString(b, f.Reason)
		b = append(b, `,"reasonCode":`...)
		code := f.ReasonCode
		if e.hideNewEnums && e.report.Name == insights.Authentications && evolvableReasonCode(code) {
			code = "unknownFutureValue"
		}
		b = appendString(b, code)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // invalid bytes become U+FFFD
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}
