package logsource

// testdata/logs.prom is rewritten by TestGoldenLogsExposition -update.
//go:generate go test -run TestGoldenLogsExposition -update .
