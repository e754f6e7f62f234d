package ecr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"

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

// TestCopiedByOther plays the other build: when this run has planned a copy
// into a repository the API said did not exist, the test creates the
// repository and, a moment later, pushes the image, as a build that started
// at the same time would. The run waits for it and spends no pull; when
// the other build never finishes, it copies after its bounded wait.
func TestCopiedByOther(t *testing.T) {
	for _, finishes := range []bool{true, false} {
		t.Run(fmt.Sprintf("other finishes %t", finishes), func(t *testing.T) {
			h, target := newHub(t), newRegistry(t)
			repo := uniqueRepo(t)
			img := randomImage(t, 1024, 2)
			digest := h.push(t, "raced:1", img)
			api := awsecr.NewFromConfig(motoConfig(t))
			var once sync.Once
			other := func(e Event) {
				if e.Kind != "plan" {
					return
				}
				once.Do(func() {
					if _, err := api.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
						t.Error(err)
					}
					if finishes {
						go func() {
							time.Sleep(150 * time.Millisecond)
							pushTo(t, target, repo+":1", img)
						}()
					}
				})
			}
			opts := append(testOptions(t, target, h, nil), WithEvents(other), func(o *Options) {
				o.raceWait, o.racePoll = time.Second, 20*time.Millisecond
			})
			rep := mustMirror(t, []Image{{Source: "docker.io/library/raced:1", Repository: repo}}, opts...)
			r := rep.Images[0]
			want, pulls := None, 0
			if !finishes {
				want, pulls = Copy, 1
			}
			if r.Action != want || r.PullsUsed != pulls || r.Digest != digest || head(t, target, repo+":1") != digest {
				t.Errorf("action %s, %d pulls, digest %s (ECR %s); want %s, %d pulls, %s", r.Action, r.PullsUsed, r.Digest, head(t, target, repo+":1"), want, pulls, digest)
			}
		})
	}
}
