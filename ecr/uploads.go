package ecr

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
)

// uploads tracks the blob upload sessions one blob copy opens in ECR, so
// the ones a failed copy leaves open can be cancelled. go-containerregistry
// retries an upload by opening a new session and never cancels the old one.
type uploads struct {
	mu   sync.Mutex
	open map[string]session // upload path -> the latest URL to it
}

type session struct {
	url  string
	auth string // the Authorization the session was opened with
}

type uploadsKey struct{}

func withUploads(ctx context.Context) (context.Context, *uploads) {
	u := &uploads{open: map[string]session{}}
	return context.WithValue(ctx, uploadsKey{}, u), u
}

// targetTransport notes upload sessions in the uploads of the request's
// context, if any.
type targetTransport struct {
	inner http.RoundTripper
}

func (t *targetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	u, _ := req.Context().Value(uploadsKey{}).(*uploads)
	if err != nil || u == nil || !strings.Contains(req.URL.Path, "/blobs/uploads/") {
		return resp, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case resp.StatusCode == http.StatusCreated:
		// Committed (PUT), or mounted (POST): nothing left open.
		delete(u.open, req.URL.Path)
	case resp.StatusCode == http.StatusAccepted:
		if loc, err := req.URL.Parse(resp.Header.Get("Location")); err == nil && resp.Header.Get("Location") != "" {
			delete(u.open, req.URL.Path)
			if req.Method == http.MethodPost || req.Method == http.MethodPatch {
				u.open[loc.Path] = session{url: loc.String(), auth: req.Header.Get("Authorization")}
			}
		}
	}
	return resp, err
}

// cancel DELETEs the sessions still open, as the distribution API allows;
// a registry that refuses just lets them expire.
func (u *uploads) cancel(ctx context.Context, rt http.RoundTripper) int {
	u.mu.Lock()
	open := make([]session, 0, len(u.open))
	for _, s := range u.open {
		open = append(open, s)
	}
	u.open = map[string]session{}
	u.mu.Unlock()
	n := 0
	for _, s := range open {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodDelete, s.url, nil)
		if err != nil {
			continue
		}
		if s.auth != "" {
			req.Header.Set("Authorization", s.auth)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			n++
		}
	}
	return n
}
