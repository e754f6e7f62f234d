package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

type measured struct {
	wall   time.Duration
	cpu    time.Duration
	maxRSS int64 // KiB
	code   int
	err    error
}

// measure runs argv and reports its wall time, CPU time and peak RSS.
//
// The peak RSS comes from GNU time (`time -f %M`), not from this process's own
// wait4: Go starts children with CLONE_VM, and Linux carries the parent's
// high-water mark into the child's ru_maxrss across exec, so a child of a large
// Go process would appear at least as large as its parent. GNU time is a small C
// program that forks, so its children start near zero.
func measure(ctx context.Context, timeBin string, env []string, argv []string, stdout, stderr io.Writer) measured {
	var out string
	run := argv
	if timeBin != "" {
		f, err := os.CreateTemp("", "bench-time-")
		if err != nil {
			return measured{code: -1, err: err}
		}
		out = f.Name()
		f.Close()
		defer os.Remove(out)
		run = append([]string{timeBin, "-o", out, "-f", "%M %U %S"}, argv...)
	}
	cmd := exec.CommandContext(ctx, run[0], run[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(start), code: -1, err: err}
	if cmd.ProcessState != nil {
		m.code = cmd.ProcessState.ExitCode()
		if m.code >= 0 {
			m.err = nil
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			m.maxRSS = ru.Maxrss
		}
	}
	if out != "" {
		b, _ := os.ReadFile(out)
		var rss int64
		var u, s float64
		// GNU time writes "Command exited with non-zero status N" first when it does.
		for _, line := range strings.Split(string(b), "\n") {
			if n, _ := fmt.Sscanf(line, "%d %f %f", &rss, &u, &s); n == 3 {
				m.maxRSS = rss
				m.cpu = time.Duration((u + s) * float64(time.Second))
			}
		}
	}
	return m
}

// findTime returns GNU time's path, or "" when it is not installed.
func findTime() string {
	if fi, err := os.Stat("/usr/bin/time"); err == nil && !fi.IsDir() {
		return "/usr/bin/time"
	}
	return ""
}
