// Package testenv starts the local stand-ins that tests run against: a
// moto_server for the ECR and STS APIs.
package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// ErrNotInstalled means the program a stand-in needs is not on PATH.
var ErrNotInstalled = errors.New("not installed")

// Process is a stand-in server this package started.
type Process struct {
	URL string
	cmd *exec.Cmd
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers. The caller stops it with Stop.
func StartMoto() (*Process, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server %w (%v)", ErrNotInstalled, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// Its own process group, so Stop ends moto and any child it has.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(p.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return p, nil
		}
	}
	p.Stop()
	return nil, fmt.Errorf("moto_server did not answer on %s", p.URL)
}

// Stop ends the process and everything in its process group.
func (p *Process) Stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// Missing handles a stand-in program that is not installed: the test is
// skipped on a developer's machine, but fails when CI=true, where the test
// environment must provide every stand-in and a skip would pass silently.
// Call it from the test's own goroutine.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: the test environment must provide it)", args...)
	}
	t.Skipf(format, args...)
}

// Moto starts a moto_server for one test and returns its URL; it is stopped
// when the test ends. Without moto_server the test is skipped, or fails
// under CI=true (see Missing).
func Moto(t testing.TB) string {
	t.Helper()
	p, err := StartMoto()
	if errors.Is(err, ErrNotInstalled) {
		Missing(t, "%v: it stands in for the ECR API", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p.URL
}
