// Command entra_insights_exporter serves the user activity of Microsoft
// Entra External ID tenants (the admin center's "Application user
// activity"), read from Microsoft Graph beta, as Prometheus metrics. The
// default source (logs) reads the sign-in and sign-up logs; the
// userinsights source reads the /reports/userInsights reports Microsoft
// retired, for tenants where Graph still answers them. Its commands are
// serve (the default: refresh in the background and serve /metrics),
// probe (make each Graph read the configured source needs once and print
// what Graph answers) and backfill (write the history a source returns as
// OpenMetrics text or to a remote-write endpoint). main only wires: parse,
// validate, run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/internal/app"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

const exporterName = app.Name

func main() {
	info, _ := debug.ReadBuildInfo()
	applyBuildInfo(info)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup)
	signal.Stop(hup)
	stop()
	os.Exit(code)
}

// run parses args and runs the chosen command; it returns the exit code.
// Tests call it in-process with their own args, output and reload signals.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) int {
	c := newCLI(args)
	exit := -1
	parser, err := kong.New(c,
		kong.Name(exporterName),
		kong.Description("Prometheus exporter for Microsoft Entra External ID application user activity, from the sign-in and sign-up logs (or the retired userInsights reports)."),
		kong.DefaultEnvars("ENTRA_INSIGHTS"),
		kongVars(),
		kong.Vars{"version": version.Print(exporterName)},
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 { // --help or --version
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %s\n", exporterName, azconf.OneLine(err.Error()))
		if c.ConfigCheck || checkRequested(args) {
			return 1
		}
		return 2
	}
	c.Azure.ClientSecret = os.Getenv("AZURE_CLIENT_SECRET")
	c.Azure.ClientCertificatePassword = os.Getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD")
	if c.ConfigCheck {
		summary, err := app.Check(c.config())
		if err != nil {
			fmt.Fprintf(stderr, "%s: error: %s\n", exporterName, azconf.OneLine(err.Error()))
			return 1
		}
		fmt.Fprintf(stdout, "%s: configuration OK: %s\n", exporterName, summary)
		return 0
	}
	logger := newLogger(c.Log, stderr)
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(c, logger, streams{out: stdout, err: stderr}, reloadSignals(hup)); err != nil {
		var bad *settingError
		if errors.As(err, &bad) {
			fmt.Fprintf(stderr, "%s: error: %s\n", exporterName, azconf.OneLine(err.Error()))
			return 2
		}
		logger.Error("exiting", "err", err)
		return 1
	}
	return 0
}

func newLogger(f logFlags, w io.Writer) *slog.Logger {
	level := promslog.NewLevel()
	format := promslog.NewFormat()
	_ = level.Set(f.Level)   // kong's enum already checked the value
	_ = format.Set(f.Format) // likewise
	return promslog.New(&promslog.Config{Level: level, Format: format, Writer: w})
}

// checkRequested reports whether args or the environment ask for
// --config.check, for a parse error found before kong set the flag.
// flagGiven reports whether the command line sets flag (--flag or
// --flag=value) before any "--".
func flagGiven(args []string, flag string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

func checkRequested(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--config.check"); ok && (v == "" || v == "=true") {
			return true
		}
	}
	on, _ := strconv.ParseBool(os.Getenv("ENTRA_INSIGHTS_CONFIG_CHECK"))
	return on
}

// streams are the command's standard output and error.
type streams struct{ out, err io.Writer }

// settingError is a bad flag, environment variable or config file value
// found after parsing; it is reported like a parse error, on one line.
type settingError struct{ err error }

func (e *settingError) Error() string { return e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }
