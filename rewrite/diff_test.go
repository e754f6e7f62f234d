package rewrite

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	in := "FROM python:3.7\nRUN a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\nRUN g\nFROM alpine:3.19\n"
	res, err := File("Dockerfile", []byte(in), Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Diff(&out, "Dockerfile", []byte(in), res.Output); err != nil {
		t.Fatal(err)
	}
	want := `--- Dockerfile
+++ Dockerfile
@@ -1,4 +1,6 @@
-FROM python:3.7
+ARG AWS_ACCOUNT_ID
+ARG AWS_REGION=us-east-1
+FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/python:3.7
 RUN a
 RUN b
 RUN c
@@ -6,4 +8,4 @@
 RUN e
 RUN f
 RUN g
-FROM alpine:3.19
+FROM ${AWS_ACCOUNT_ID}.dkr.ecr.${AWS_REGION}.amazonaws.com/docker-hub/library/alpine:3.19
`
	if out.String() != want {
		t.Errorf("Diff =\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := Diff(&out, "Dockerfile", []byte(in), []byte(in)); err != nil || out.Len() != 0 {
		t.Errorf("Diff of equal inputs = %q, %v; want nothing", out.String(), err)
	}
}

// TestDiffLongFile: only the changed part of a long file is aligned, so a
// diff of a 50000-line file costs no quadratic table.
func TestDiffLongFile(t *testing.T) {
	in := "FROM python:3.7\n" + strings.Repeat("RUN true\n", 50000)
	res, err := File("Dockerfile", []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Diff(&out, "Dockerfile", []byte(in), res.Output); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "--- Dockerfile\n+++ Dockerfile\n@@ -1,4 +1,6 @@\n-FROM python:3.7\n") || strings.Count(out.String(), "@@") != 2 {
		t.Errorf("Diff of a long file:\n%.400s", out.String())
	}
}

// TestDiffPatch: GNU patch -p0 turns the original into the rewrite with the
// diff, for rewrites at the start, in the middle, at the end, with CRLF
// line ends and without a final newline.
func TestDiffPatch(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("patch is not installed")
		}
		t.Skip("patch is not installed")
	}
	body := strings.Repeat("RUN true\n", 20)
	for name, in := range map[string]string{
		"start":      "FROM python:3.7\n" + body,
		"middle":     "FROM scratch\n" + body + "FROM alpine:3.19\n" + body,
		"end":        "FROM scratch\n" + body + "FROM golang:1.22",
		"crlf":       strings.ReplaceAll("FROM python:3.7\n"+body+"FROM node:20\n", "\n", "\r\n"),
		"many":       strings.Repeat("FROM alpine:3.19\nRUN true\n", 50),
		"noNewline":  "FROM python:3.7",
		"copyFrom":   "FROM scratch\nCOPY --from=busybox:1.36 /bin/true /\n" + body,
		"longNoHunk": "FROM python:3.7\n" + body + body + body + "FROM alpine:3.19\n",
	} {
		t.Run(name, func(t *testing.T) {
			res, err := File("Dockerfile", []byte(in), Options{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Diff(&out, "Dockerfile", []byte(in), res.Output); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(in), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(patch, "-p0", "--quiet", "--batch")
			cmd.Dir, cmd.Stdin = dir, &out
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("patch -p0: %v\n%s\ndiff:\n%s", err, msg, out.String())
			}
			got, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if !bytes.Equal(got, res.Output) {
				t.Errorf("patched file =\n%q\nwant\n%q", got, res.Output)
			}
		})
	}
}

// diffInput is a lines-long Dockerfile with a FROM every step lines, so a
// rewrite changes lines/step places spread over the whole file.
func diffInput(lines, step int) []byte {
	var b bytes.Buffer
	for i := range lines {
		if i%step == 0 {
			fmt.Fprintf(&b, "FROM alpine:3.%d\n", i%20)
		} else {
			fmt.Fprintf(&b, "RUN echo %d\n", i)
		}
	}
	return b.Bytes()
}

// BenchmarkDiff diffs 20,000- and 50,000-line Dockerfiles against their
// rewrite, with the changes at both ends only and spread over the file.
// peak-MB is the largest heap in use during one diff (sampled after each
// run with the heap limit of a forced GC before it), alloc-B/line the bytes
// allocated per input line.
func BenchmarkDiff(b *testing.B) {
	for _, lines := range []int{20000, 50000} {
		for _, shape := range []struct {
			name string
			step int
		}{{"ends", lines - 1}, {"spread", 100}} {
			in := diffInput(lines, shape.step)
			res, err := File("Dockerfile", in, Options{Region: "us-east-1"})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%dlines/%s", lines, shape.name), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				peak := uint64(0)
				for b.Loop() {
					p := peakHeap(func() {
						if err := Diff(io.Discard, "Dockerfile", in, res.Output); err != nil {
							b.Fatal(err)
						}
					})
					peak = max(peak, p)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
				b.ReportMetric(float64(peak)/float64(len(in)), "peak-B/input-B")
			})
		}
	}
}

// peakHeap runs fn and returns the most heap it held above what was live
// before: a sampler reads the heap every millisecond, and the final
// allocation total bounds what a sample can miss.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return peak.Load()
}
