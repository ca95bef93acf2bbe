package insights

// ProbeToken is the Read of the probe's token line.
const ProbeToken = "token"

// ProbeResult is one line of the probe: what Graph answered one read made
// once (graph's Client.ProbeLogs and ProbeUserInsights). It lives here,
// not in graph, so that the sources' registry can name it without
// compiling the Graph SDK.
type ProbeResult struct {
	Read     string // e.g. "signIns", "signIns $select", or ProbeToken
	Request  string // method, path and query, URL-decoded: "GET /beta/auditLogs/signIns?$filter=…&$top=1"
	Status   int    // HTTP status; 0 when none is known (skipped, network failure, the token line's success)
	Code     string // Graph's error code; "" when none
	Outcome  string // what the exporter does with the answer
	Required bool   // the source cannot work without this read
	OK       bool   // the read, as sent, worked
}
