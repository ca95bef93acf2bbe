package promtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long a process may take to answer its
	// readiness endpoint; Prometheus replaying a large TSDB is the slowest.
	readyTimeout = 60 * time.Second
	// stopGrace is how long a process gets to exit after SIGTERM before it
	// is killed.
	stopGrace = 10 * time.Second
	// stderrTail is how much of a process's stderr failure messages show.
	stderrTail = 4000
)

// process is a child process that is stopped when its test ends and whose
// stderr is kept for failure messages.
type process struct {
	name   string
	stderr *LockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // exit status; read only after done is closed
}

// startProcess starts bin with args. The test's context ending (just before
// cleanups run) sends SIGTERM; a cleanup waits for the exit and, if the test
// failed, logs the tail of stderr.
func startProcess(t testing.TB, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, stderr: &LockedBuffer{}, done: make(chan struct{})}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		<-p.done
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, p.tail())
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last stderrTail bytes of the process's output.
func (p *process) tail() string {
	s := p.stderr.String()
	if len(s) > stderrTail {
		s = "…" + s[len(s)-stderrTail:]
	}
	return s
}

// waitReady polls url until it answers 200. It returns an error naming the
// cause when the process exits first or the timeout passes.
func (p *process) waitReady(t testing.TB, url string) error {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	ready := func() bool {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if poll(t, func() bool { return p.exited() || ready() }, readyTimeout) && !p.exited() {
		return nil
	}
	if p.exited() {
		return fmt.Errorf("%s exited before it was ready (%v):\n%s", p.name, p.err, p.tail())
	}
	return fmt.Errorf("%s not ready at %s within %v:\n%s", p.name, url, readyTimeout, p.tail())
}

// addressInUse reports whether the process failed because its port was
// taken between freePort and the process binding it.
func (p *process) addressInUse() bool {
	return p.exited() && strings.Contains(p.stderr.String(), "address already in use")
}

// freePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before ours binds it; callers retry on that.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startListening starts a process on a free loopback port and waits until
// readyPath answers. args gets the "127.0.0.1:PORT" address. It retries
// with another port when the chosen one was taken in the meantime.
func startListening(t testing.TB, name, bin, readyPath string, args func(addr string) []string) (addr string) {
	t.Helper()
	const attempts = 3
	var err error
	for range attempts {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		p := startProcess(t, name, bin, args(addr)...)
		if err = p.waitReady(t, "http://"+addr+readyPath); err == nil {
			return addr
		}
		if !p.addressInUse() {
			break
		}
	}
	t.Fatal(err)
	return ""
}

// LockedBuffer is a bytes.Buffer safe for a process's (or a logger's)
// writes and the test's reads at the same time.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
