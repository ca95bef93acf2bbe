package graphsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Sim is a running simulator on a loopback TLS listener with its own
// self-signed certificate authority.
type Sim struct {
	*Server
	URL           string         // https://127.0.0.1:PORT
	GraphURL      string         // URL + "/beta"
	AuthorityHost string         // URL + "/", for azidentity's cloud configuration
	CAPEM         []byte         // PEM of the CA that signed the server certificate
	CertPool      *x509.CertPool // pool containing that CA
	// The credentials the token service accepts.
	TenantID, ClientID, ClientSecret string

	authority *authority
	tls       *tlsServer
	closeOnce sync.Once
	closed    chan struct{}
}

// Listen starts a simulator on addr (e.g. "127.0.0.1:0" for demo mode); it
// closes when ctx ends or Close is called.
func Listen(ctx context.Context, addr string, opts Options) (*Sim, error) {
	a, err := newAuthority(time.Now())
	if err != nil {
		return nil, fmt.Errorf("graphsim certificates: %w", err)
	}
	srv := New(opts)
	ts, err := serveTLS(addr, srv, a, srv.log)
	if err != nil {
		return nil, fmt.Errorf("graphsim: %w", err)
	}
	s := &Sim{
		Server:        srv,
		URL:           ts.url,
		GraphURL:      ts.url + "/beta",
		AuthorityHost: ts.url + "/",
		CAPEM:         a.caPEM,
		CertPool:      a.pool,
		TenantID:      srv.opts.TenantID,
		ClientID:      srv.opts.ClientID,
		ClientSecret:  srv.opts.ClientSecret,
		authority:     a,
		tls:           ts,
		closed:        make(chan struct{}),
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.closed:
		}
	}()
	srv.log.Info("graphsim listening", "url", s.URL, "tenant", s.TenantID)
	return s, nil
}

// Close releases stalled requests, closes the listener and every
// connection, and waits for the handlers. It is safe to call twice.
func (s *Sim) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.Server.Close()
		s.tls.close()
	})
}

// WriteCAFile writes CAPEM to dir/graphsim-ca.pem and returns its path,
// for --graph.ca-file and SSL_CERT_FILE.
func (s *Sim) WriteCAFile(dir string) (string, error) {
	path := filepath.Join(dir, "graphsim-ca.pem")
	if err := os.WriteFile(path, s.CAPEM, 0o644); err != nil {
		return "", fmt.Errorf("write graphsim CA: %w", err)
	}
	return path, nil
}

// Client returns an HTTP client that trusts the simulator's CA.
func (s *Sim) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool, MinVersion: tls.VersionTLS12},
	}}
}
