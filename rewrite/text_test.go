package rewrite

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteTable checks the table of `ecrbase images` for references of
// every kind of row: the # syntax= image, an image (with its ECR
// repository), a stage, the empty image and an unresolved reference
// (dashes), and a COPY --from.
func TestWriteTable(t *testing.T) {
	t.Parallel()
	data := []byte(`# syntax=docker/dockerfile:1
FROM python:3.12 AS build
FROM build
FROM scratch
FROM ${MISSING}
COPY --from=quay.io/minio/minio:latest /usr/bin/minio /minio
`)
	res, err := File("Dockerfile", data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteTable(&b, res.Refs); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"FILE:LINE     KIND       STATUS      TEXT                        REFERENCE                      REPOSITORY",
		"Dockerfile:1  syntax     kept        docker/dockerfile:1         docker.io/docker/dockerfile:1  docker-hub/docker/dockerfile",
		"Dockerfile:2  from       rewrite     python:3.12                 docker.io/library/python:3.12  docker-hub/library/python",
		"Dockerfile:3  from       stage       build                       -                              -",
		"Dockerfile:4  from       scratch     scratch                     -                              -",
		"Dockerfile:5  from       unresolved  ${MISSING}                  -                              -",
		"Dockerfile:6  copy-from  rewrite     quay.io/minio/minio:latest  quay.io/minio/minio:latest     quay/minio/minio",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteTable (-want +got):\n%s", diff)
	}

	// No reference, no table: not even the header.
	b.Reset()
	if err := WriteTable(&b, nil); err != nil || b.Len() != 0 {
		t.Errorf("WriteTable(nil) wrote %q, %v; want nothing", b.String(), err)
	}
}
