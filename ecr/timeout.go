package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TimeoutError means a registry or the AWS API stayed silent for longer
// than the timeout: no connection, no answer, or a body that stopped.
type TimeoutError struct {
	Host  string
	Limit time.Duration
	While string // connecting, waiting for an answer, reading the body, ...
	Err   error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s stayed silent for the %s timeout while %s", e.Host, e.Limit, e.While)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout and Temporary make it a net.Error, so the retry predicates of
// go-containerregistry and the AWS SDK retry it like any network timeout.
func (e *TimeoutError) Timeout() bool   { return true }
func (e *TimeoutError) Temporary() bool { return true }

func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// newTransport returns an http.Transport whose connect, TLS handshake and
// response header waits are bounded by d, as is each write to a peer that
// stops reading (an upload ECR no longer takes in).
func newTransport(d time.Duration) *http.Transport {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: d, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeBound{Conn: c, d: d}, nil
	}
	t.TLSHandshakeTimeout = d
	t.ResponseHeaderTimeout = d
	return t
}

// writeBound gives each write to the connection d to be taken in. The
// transport writes a request body a buffer (32 KiB at most) at a time, so
// this bounds how long an upload may make no progress, not how long it
// takes.
type writeBound struct {
	net.Conn
	d time.Duration
}

func (c writeBound) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.d)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// silence bounds the one wait http.Transport cannot: a response body that
// stops delivering bytes. It also names the host and the timeout in every
// timeout error.
type silence struct {
	inner http.RoundTripper
	d     time.Duration
}

func (s silence) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.inner.RoundTrip(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && req.Context().Err() == nil {
			var te *TimeoutError
			if errors.As(err, &te) {
				return nil, err
			}
			while := "waiting for an answer to " + req.Method + " " + req.URL.Path
			var op *net.OpError
			if errors.As(err, &op) {
				switch op.Op {
				case "dial":
					while = "connecting"
				case "write":
					while = "sending " + req.Method + " " + req.URL.Path
				}
			}
			return nil, &TimeoutError{Host: req.URL.Host, Limit: s.d, While: while, Err: err}
		}
		return nil, err
	}
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = newIdleBody(resp.Body, s.d, &TimeoutError{Host: req.URL.Host, Limit: s.d, While: "reading the body of " + req.Method + " " + req.URL.Path})
	}
	return resp, nil
}

// idleBody abandons a body that delivers no byte for d while it is being
// read. The clock runs only inside Read: a reader that is slow to ask (a
// slow target) is not the source's fault.
type idleBody struct {
	rc    io.ReadCloser
	d     time.Duration
	err   *TimeoutError
	timer *time.Timer
	fired atomic.Bool
	once  sync.Once
}

func newIdleBody(rc io.ReadCloser, d time.Duration, err *TimeoutError) *idleBody {
	b := &idleBody{rc: rc, d: d, err: err}
	b.timer = time.AfterFunc(time.Hour, func() {
		b.fired.Store(true)
		rc.Close() // unblocks the Read in progress
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.fired.Load() {
		return 0, b.err
	}
	b.timer.Reset(b.d)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if b.fired.Load() {
		return n, b.err
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	var err error
	b.once.Do(func() { err = b.rc.Close() })
	return err
}

// awsClient names the host and the timeout in the SDK's timeout errors; the
// SDK's retryer still sees a net.Error timeout and retries it.
type awsClient struct {
	c aws.HTTPClient
	d time.Duration
}

func (a awsClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := a.c.Do(req)
	var ne net.Error
	var te *TimeoutError
	if err != nil && errors.As(err, &ne) && ne.Timeout() && !errors.As(err, &te) && req.Context().Err() == nil {
		return nil, &TimeoutError{Host: req.URL.Host, Limit: a.d, While: "waiting for an answer to the AWS API", Err: err}
	}
	return resp, err
}

// awsHTTPClient is the AWS SDK's own client with its connect, TLS, response
// header and read waits bounded by d. It stays a *BuildableClient until the
// configuration is loaded: the SDK adds AWS_CA_BUNDLE's roots only to that
// type. awsConfig wraps it in awsClient afterwards.
func awsHTTPClient(d time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(dl *net.Dialer) { dl.Timeout = d }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = d
			t.ResponseHeaderTimeout = d
		}).
		WithReadTimeout(d)
}

// contextTimeout turns a context ended by a TimeoutError cause into that
// error, so a cancelled upload says why.
func contextTimeout(ctx context.Context, err error) error {
	var te *TimeoutError
	if c := context.Cause(ctx); c != nil && errors.As(c, &te) && !errors.As(err, &te) {
		return fmt.Errorf("%w (%w)", te, err)
	}
	return err
}
