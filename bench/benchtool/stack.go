package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"ecrbase/internal/apibridge"
)

// The stack, all on loopback:
//
//	upstream   docker-registry, plain HTTP, no auth            ("Docker Hub")
//	proxy      hubproxy in front of upstream: counts manifest GETs/HEADs and blob bytes
//	content    docker-registry on the upstream's storage: a content source for ecrbase-content
//	target     docker-registry, TLS + htpasswd, at the ECR host name through /etc/hosts ("ECR")
//	moto       ECR and STS API for ecrbase (CreateRepository, GetAuthorizationToken)
//
// Every tool writes into the same target with the same credentials.

const (
	account = "123456789012"
	// The ECR token moto hands out; the target registry accepts it as AWS's password.
	ecrPassword = account + "-auth-token"
	// A region of its own and a loopback address of its own keep the benchmark's
	// "ECR" host name and port 443 apart from other suites on the same machine.
	benchRegion = "eu-north-1"
	targetIP    = "127.0.77.1"
)

func targetHost() string { return account + ".dkr.ecr." + benchRegion + ".amazonaws.com" }

// Stack holds the processes the benchmark started; Close ends them by pid.
type Stack struct {
	Dir string
	// Data holds the registries' storage: on tmpfs when there is one, so the disk
	// (which ECR's storage has nothing to do with) adds no noise.
	Data       string
	Upstream   string // host:port of the upstream registry
	Proxy      string // host:port of the counting proxy
	Content    string // host:port of a registry on the upstream's storage: a content source, not behind the proxy
	MotoURL    string
	Target     string // host name of the target registry (port 443)
	CAFile     string // the CA that signed the target's certificate
	CertBundle string
	CertDir    string // skopeo's --dest-cert-dir
	DockerCfg  string // DOCKER_CONFIG dir with the target's credentials
	Home       string // HOME for every tool: no stray user configuration

	// WAN, when set, puts a Shaper in front of each server the tools use:
	// Proxy, Target and MotoURL are then the shaped addresses, and the
	// harness reaches the servers directly.
	WAN *WANLinks

	proxyCtl     string // host:port of hubproxy itself
	motoCtl      string // moto's own URL
	targetDirect string // host:port the target registry listens on, when shaped
	targetLog    string // its access log
	apiCalls     atomic.Int64
	apiSrv       *http.Server

	bins   Bins
	procs  map[string]*proc
	client *http.Client
}

// Bins are the programs the stack and the tools run.
type Bins struct {
	Registry, Moto, Hubproxy, Htpasswd string
	Ecrbase, Crane, Regctl, Skopeo     string
	Regsync                            string
	Dir                                string // where they were looked for
	Parseonly, Hyperfine               string
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WANLinks are the shaped paths to "Docker Hub" (the counting proxy, which
// then asks for bearer tokens as Docker Hub does), "ECR" and the ECR API.
type WANLinks struct {
	Hub, ECR, API *Shaper
}

// StartStack starts every server under dir; with wan, behind shapers (at no
// delay until Set), with Docker Hub's token dance and an API bridge that
// answers BatchGetImage from the target registry, as ECR's API does.
func StartStack(ctx context.Context, dir string, bins Bins, wan bool) (*Stack, error) {
	s := &Stack{Dir: dir, bins: bins, procs: map[string]*proc{}, Target: targetHost()}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	s.Data = filepath.Join(dir, "data")
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "ecrbase-bench-")
		if err != nil {
			return nil, err
		}
		s.Data = d
	}
	for _, d := range []string{"home", "docker", "certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	s.Home = filepath.Join(dir, "home")
	s.DockerCfg = filepath.Join(dir, "docker")
	s.CertDir = filepath.Join(dir, "certs")
	if err := ensureHosts(targetIP, s.Target); err != nil {
		return nil, err
	}
	if err := s.writeTLS(); err != nil {
		return nil, err
	}
	// The harness's own client reaches the target directly when it is shaped.
	dialer := &net.Dialer{}
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.rootCAs()},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if (addr == targetIP+":443" || addr == s.Target+":443") && s.targetDirect != "" {
				addr = s.targetDirect
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:" + ecrPassword))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.Target, auth)
	if err := os.WriteFile(filepath.Join(s.DockerCfg, "config.json"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	// bcrypt at its lowest cost: the registry checks it on every request, and ECR's
	// own authentication is not what is measured.
	ht, err := exec.Command(bins.Htpasswd, "-Bbn", "-C", "4", "AWS", ecrPassword).Output()
	if err != nil {
		return nil, fmt.Errorf("running htpasswd: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), ht, 0o600); err != nil {
		return nil, err
	}

	up, err := freePort()
	if err != nil {
		return nil, err
	}
	s.Upstream = fmt.Sprintf("127.0.0.1:%d", up)
	upCfg := fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}
http: {addr: %q}
`, filepath.Join(s.Data, "upstream"), s.Upstream)
	if err := s.startRegistry(ctx, "upstream", upCfg, "http://"+s.Upstream+"/v2/"); err != nil {
		return nil, err
	}
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	s.Content = fmt.Sprintf("127.0.0.1:%d", cp)
	csCfg := fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: %q}
`, filepath.Join(s.Data, "upstream"), s.Content)
	if err := s.startRegistry(ctx, "content", csCfg, "http://"+s.Content+"/v2/"); err != nil {
		return nil, err
	}
	if wan {
		tp, err := freePort()
		if err != nil {
			return nil, err
		}
		s.targetDirect = fmt.Sprintf("%s:%d", targetIP, tp)
		s.targetLog = filepath.Join(dir, "logs", "target.log")
	}
	if err := s.StartTarget(ctx); err != nil {
		return nil, err
	}

	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	s.proxyCtl = fmt.Sprintf("127.0.0.1:%d", pp)
	args := []string{"-listen", s.proxyCtl, "-upstream", "http://" + s.Upstream}
	if wan {
		// The catalogue's cold run needs 375 counted pulls: more than an
		// anonymous user's 100 per 6 hours (ecrbase refuses to start such a
		// run), so "Docker Hub" grants what a paid account gets.
		args = append(args, "-bearer", "-limit", "5000")
	}
	if err := s.start(ctx, "hubproxy", bins.Hubproxy, args, "http://"+s.proxyCtl+"/_hubproxy/stats"); err != nil {
		return nil, err
	}
	s.Proxy = s.proxyCtl

	mp, err := freePort()
	if err != nil {
		return nil, err
	}
	s.motoCtl = fmt.Sprintf("http://127.0.0.1:%d", mp)
	if err := s.start(ctx, "moto", bins.Moto, []string{"-H", "127.0.0.1", "-p", fmt.Sprint(mp)}, s.motoCtl+"/moto-api/"); err != nil {
		return nil, err
	}
	s.MotoURL = s.motoCtl
	if wan {
		if err := s.shape(); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// shape starts the API bridge and the three shapers.
func (s *Stack) shape() error {
	bridge, err := apibridge.New(s.motoCtl, "https://AWS:"+ecrPassword+"@"+s.targetDirect)
	if err != nil {
		return err
	}
	// Its own user agent keeps its reads out of the tools' request counts.
	bridge.SetRegistryClient(&http.Client{Timeout: 30 * time.Second, Transport: userAgent{bridgeAgent,
		&http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.rootCAs()}}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.apiSrv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			s.apiCalls.Add(1)
		}
		bridge.ServeHTTP(w, r)
	})}
	go func() { _ = s.apiSrv.Serve(ln) }()
	s.WAN = &WANLinks{}
	if s.WAN.Hub, err = NewShaper("127.0.0.1:0", s.proxyCtl, 0, 0); err != nil {
		return err
	}
	s.Proxy = s.WAN.Hub.Addr()
	if s.WAN.ECR, err = NewShaper(targetIP+":443", s.targetDirect, 0, 0); err != nil {
		return fmt.Errorf("listening on %s:443 for the shaped target: %w", targetIP, err)
	}
	if s.WAN.API, err = NewShaper("127.0.0.1:0", ln.Addr().String(), 0, 0); err != nil {
		return err
	}
	s.MotoURL = "http://" + s.WAN.API.Addr()
	return nil
}

// SetWAN sets the round-trip times of the shaped links and the cap on
// what "Docker Hub" sends (0: none).
func (s *Stack) SetWAN(hubRTT, ecrRTT time.Duration, hubCap int64) {
	s.WAN.Hub.Set(hubRTT, hubCap)
	s.WAN.ECR.Set(ecrRTT, 0)
	s.WAN.API.Set(ecrRTT, 0)
}

// targetCounts counts the requests in the target's access log from byte
// offset from: all of them and the manifest HEADs. It returns the new offset.
func (s *Stack) targetCounts(from int64) (requests, manifestHeads int64, next int64) {
	f, err := os.Open(s.targetLog)
	if err != nil {
		return 0, 0, from
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, 0, from
	}
	b, _ := io.ReadAll(f)
	for _, line := range strings.Split(string(b), "\n") {
		m := accessLine.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, bridgeAgent) {
			continue
		}
		requests++
		if m[1] == http.MethodHead && strings.Contains(m[2], "/manifests/") {
			manifestHeads++
		}
	}
	return requests, manifestHeads, from + int64(len(b))
}

const bridgeAgent = "ecrbase-bench-apibridge"

type userAgent struct {
	ua string
	rt http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.rt.RoundTrip(r)
}

// accessLine matches a request in docker-registry's (combined format) access log.
var accessLine = regexp.MustCompile(`"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/[^ ]*) HTTP/`)

func (s *Stack) targetLogSize() int64 {
	fi, err := os.Stat(s.targetLog)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// StartTarget (re)starts the target registry on an empty data directory.
func (s *Stack) StartTarget(ctx context.Context) error {
	s.stop("target")
	data := filepath.Join(s.Data, "target")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	addr, access := targetIP+":443", "true"
	if s.targetDirect != "" {
		// Shaped: the shaper holds port 443, and requests are counted from the access log.
		addr, access = s.targetDirect, "false"
	}
	cfg := fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: %s}}
storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}
http: {addr: %q, tls: {certificate: %s, key: %s}}
auth: {htpasswd: {realm: ecr, path: %s}}
`, access, data, addr, filepath.Join(s.Dir, "srv.crt"), filepath.Join(s.Dir, "srv.key"), filepath.Join(s.Dir, "htpasswd"))
	return s.startRegistry(ctx, "target", cfg, "https://"+s.Target+"/v2/")
}

func (s *Stack) startRegistry(ctx context.Context, name, cfg, ready string) error {
	p := filepath.Join(s.Dir, name+".yml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		return err
	}
	return s.start(ctx, name, s.bins.Registry, []string{"serve", p}, ready)
}

func (s *Stack) start(ctx context.Context, name, bin string, args []string, ready string) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "HOME="+s.Home)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	s.procs[name] = &proc{cmd: cmd, exited: exited}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.client.Get(ready)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("starting %s: exited early: %s", name, lastLine(string(b)))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("starting %s: not ready after 30s (%v); see %s", name, err, logf.Name())
		}
	}
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func (s *Stack) stop(name string) {
	p := s.procs[name]
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
	delete(s.procs, name)
}

// Close ends every process the stack started, by pid, and frees the registries' storage.
func (s *Stack) Close() {
	if s.WAN != nil {
		for _, sh := range []*Shaper{s.WAN.Hub, s.WAN.ECR, s.WAN.API} {
			if sh != nil {
				sh.Close()
			}
		}
		s.WAN = nil
	}
	if s.apiSrv != nil {
		s.apiSrv.Close()
	}
	for name := range s.procs {
		s.stop(name)
	}
	if s.Data != "" {
		os.RemoveAll(s.Data)
	}
}

// ServerCPU is the CPU time (user+sys, seconds) the stack's processes have used:
// the registries, the proxy and moto work for every tool, and on two cores their
// share explains much of a run's wall time.
func (s *Stack) ServerCPU() map[string]float64 {
	out := map[string]float64{}
	for name, p := range s.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			var u, st int64
			fmt.Sscan(f[11], &u)
			fmt.Sscan(f[12], &st)
			out[name] = float64(u+st) / 100 // USER_HZ
		}
	}
	return out
}

// loadAvg is the one-minute load average.
func loadAvg() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &l)
	}
	return l
}

// ProxyStats reads the counters of the proxy.
type ProxyStats struct {
	ManifestGets  int64 `json:"manifest_gets"`
	ManifestHeads int64 `json:"manifest_heads"`
	BlobGets      int64 `json:"blob_gets"`
	BlobHeads     int64 `json:"blob_heads"`
	BlobBytes     int64 `json:"blob_bytes"`
	Pulls         int64 `json:"pulls"`
	Requests      int64 `json:"requests"`
	Tokens        int64 `json:"tokens"`
	Challenges    int64 `json:"challenges"`
}

func (s *Stack) proxyCall(method, op string) (ProxyStats, error) {
	req, _ := http.NewRequest(method, "http://"+s.proxyCtl+"/_hubproxy/"+op, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return ProxyStats{}, fmt.Errorf("hubproxy %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return ProxyStats{}, fmt.Errorf("hubproxy %s: %s: %s", op, resp.Status, strings.TrimSpace(string(b)))
	}
	var st ProxyStats
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// ResetProxy zeroes the proxy's counters.
func (s *Stack) ResetProxy() error { _, err := s.proxyCall(http.MethodPost, "reset"); return err }

// Stats returns the proxy's counters.
func (s *Stack) Stats() (ProxyStats, error) { return s.proxyCall(http.MethodGet, "stats") }

// TargetDigest HEADs repo:tag in the target and returns its digest ("" when absent).
func (s *Stack) TargetDigest(repo, tag string) (string, error) {
	req, _ := http.NewRequest(http.MethodHead, "https://"+s.Target+"/v2/"+repo+"/manifests/"+tag, nil)
	req.SetBasicAuth("AWS", ecrPassword)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ","))
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HEAD %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest"), nil
}

func (s *Stack) rootCAs() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	b, _ := os.ReadFile(s.CAFile)
	pool.AppendCertsFromPEM(b)
	return pool
}

// writeTLS makes a CA and a server certificate for the target host. The tools are
// pointed at the CA with SSL_CERT_FILE (a bundle of the system roots plus this CA)
// or skopeo's --dest-cert-dir; the system trust store is left alone.
func (s *Stack) writeTLS() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecrbase bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: s.Target},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		DNSNames: []string{s.Target}, IPAddresses: []net.IP{net.ParseIP(targetIP)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.CAFile = filepath.Join(s.Dir, "ca.crt")
	s.CertBundle = filepath.Join(s.Dir, "bundle.crt")
	system, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	files := map[string][]byte{
		s.CAFile:                           caPEM,
		filepath.Join(s.CertDir, "ca.crt"): caPEM,
		s.CertBundle:                       append(append(system, '\n'), caPEM...),
		filepath.Join(s.Dir, "srv.crt"):    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		filepath.Join(s.Dir, "srv.key"):    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// ensureHosts maps host to ip in /etc/hosts, as the ECR host name must resolve to
// the local target registry. It refuses to change a line another suite wrote.
func ensureHosts(ip, host string) error {
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for _, h := range f[1:] {
			if h == host {
				if f[0] == ip {
					return nil
				}
				return fmt.Errorf("/etc/hosts maps %s to %s, want %s", host, f[0], ip)
			}
		}
	}
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("adding %s to /etc/hosts (run as root): %w", host, err)
	}
	defer f.Close()
	prefix := ""
	if len(b) > 0 && b[len(b)-1] != '\n' {
		prefix = "\n"
	}
	_, err = fmt.Fprintf(f, "%s%s %s # ecrbase bench\n", prefix, ip, host)
	return err
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
