package ecr

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRetryRace(t *testing.T) {
	t.Parallel()
	raced := &transport.Error{StatusCode: http.StatusBadRequest, Errors: []transport.Diagnostic{
		{Code: transport.DigestInvalidErrorCode}, {Code: transport.ManifestBlobUnknownErrorCode},
	}}
	denied := &transport.Error{StatusCode: http.StatusForbidden, Errors: []transport.Diagnostic{{Code: transport.DeniedErrorCode}}}
	mixed := &transport.Error{StatusCode: http.StatusBadRequest, Errors: []transport.Diagnostic{
		{Code: transport.ManifestBlobUnknownErrorCode}, {Code: transport.ManifestInvalidErrorCode},
	}}
	for _, tc := range []struct {
		name     string
		errs     []error // answers in order; nil is success
		want     error
		attempts int
	}{
		{"raced then written", []error{raced, raced, nil}, nil, 3},
		{"denied is not retried", []error{denied, nil}, denied, 1},
		{"an invalid manifest is not retried", []error{mixed, nil}, mixed, 1},
		{"gives up", []error{raced, raced, raced, raced, raced, raced}, raced, raceAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			err := retryRace(context.Background(), func() error { n++; return tc.errs[n-1] })
			if !errors.Is(err, tc.want) || n != tc.attempts {
				t.Errorf("retryRace = %v after %d attempts, want %v after %d", err, n, tc.want, tc.attempts)
			}
		})
	}
}
