package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"ecrbase/internal/hubproxy"
	"ecrbase/internal/testenv"
)

// The many-processes test runs its "ECR" at the real registry host name of
// this region, mapped in /etc/hosts to a loopback address of its own, apart
// from the end-to-end suite (us-east-1, 127.0.0.1) and the benchmark
// (eu-north-1, 127.0.77.1).
const (
	procsRegion  = "eu-west-3"
	procsAccount = "123456789012" // moto's account
	procsToken   = procsAccount + "-auth-token"
)

// TestManyProcesses starts many `ecrbase mirror` processes at once on
// overlapping images, as many CodeBuild builds starting in the same minute
// would: every process must exit 0 and ECR must end with every tag at its
// upstream digest. ECRBASE_TEST_PROCS sets the count (default 50).
//
// It needs root (port 443, /etc/hosts), docker-registry, htpasswd and
// moto_server; without them it is skipped, except in CI (CI=true), where it
// fails.
func TestManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes; skipped with -short")
	}
	needECRStack(t)
	procs := 50
	if v := os.Getenv("ECRBASE_TEST_PROCS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ECRBASE_TEST_PROCS=%q: want a positive number", v)
		}
		procs = n
	}
	ip := testIP("ECRBASE_TEST_ECR_IP", "127.0.77.2")
	host := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", procsAccount, procsRegion)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	if err := mapHost(t, host, ip); err != nil {
		t.Fatal(err)
	}
	caFile := serveECR(t, dir, host, ip)

	motoURL := testenv.Moto(t)

	// "Docker Hub": an in-process registry behind the counting proxy.
	up := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(up.Close)
	px, err := hubproxy.New(up.URL, 100000)
	if err != nil {
		t.Fatal(err)
	}
	hub := httptest.NewServer(px)
	t.Cleanup(hub.Close)

	// Twelve images, a third of them multi-arch, all on one shared base
	// layer, so concurrent pushes of the same blob are the norm.
	base := static(t, 64<<10)
	const nImages = 12
	refs := make([]string, nImages)
	want := map[string]string{} // repository:tag -> upstream digest
	for i := range nImages {
		refs[i] = fmt.Sprintf("team/app%d:1.%d", i, i)
		want["docker-hub/"+refs[i]] = pushOnBase(t, strings.TrimPrefix(up.URL, "http://")+"/"+refs[i], base, i%3 == 0)
	}
	// One Dockerfile every build shares, as a monorepo's would be.
	writeFile(t, filepath.Join(dir, "app", "Dockerfile"), "FROM team/app0:1.0\nFROM team/app1:1.1\n", 0o644)

	// Each process: the Dockerfile plus a window of six catalogue images.
	env := append(os.Environ(),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION="+procsRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
		"AWS_ENDPOINT_URL_ECR="+motoURL, "AWS_ENDPOINT_URL_STS="+motoURL,
		"DOCKER_CONFIG="+filepath.Join(dir, "docker-config"),
		"SSL_CERT_FILE="+caFile,
	)
	mirrored := map[string]bool{"docker-hub/" + refs[0]: true, "docker-hub/" + refs[1]: true}
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*bytes.Buffer, procs)
	for i := range procs {
		var list strings.Builder
		fmt.Fprintf(&list, "# build %d\n", i)
		for j := range 6 {
			fmt.Fprintln(&list, refs[(i+j)%nImages])
			mirrored["docker-hub/"+refs[(i+j)%nImages]] = true
		}
		file := filepath.Join(dir, fmt.Sprintf("images-%d.txt", i))
		writeFile(t, file, list.String(), 0o644)
		cmd := exec.Command(bin, "mirror", "--registry-mirror", "docker.io="+hub.URL, "--images-from", file, "--json", filepath.Join(dir, "app"))
		cmd.Env, cmd.Dir = env, dir
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = io.Discard, outs[i]
		cmds[i] = cmd
	}
	start := time.Now()
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var (
		failed  int
		maxRSS  int64
		cpuUsed time.Duration
	)
	for i, cmd := range cmds {
		err := cmd.Wait()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRSS = max(maxRSS, ru.Maxrss)
		}
		cpuUsed += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if err != nil {
			failed++
			t.Errorf("process %d: %v\n%s", i, err, tail(outs[i].String(), 2000))
		}
	}
	wall := time.Since(start)

	for repoTag, d := range want {
		if !mirrored[repoTag] {
			continue
		}
		ref, err := name.ParseReference(host + "/" + repoTag)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Head(ref, remote.WithAuth(&authn.Basic{Username: "AWS", Password: procsToken}), remote.WithTransport(trusting(t, caFile)))
		if err != nil {
			t.Errorf("ECR %s: %v", repoTag, err)
			continue
		}
		if got.Digest.String() != d {
			t.Errorf("ECR %s = %s, want upstream %s", repoTag, got.Digest, d)
		}
	}
	api := awsecr.NewFromConfig(aws.Config{Region: procsRegion, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(motoURL)})
	repos, err := api.DescribeRepositories(context.Background(), &awsecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repos.Repositories) != len(mirrored) {
		t.Errorf("moto has %d repositories, want %d", len(repos.Repositories), len(mirrored))
	}
	st := px.Stats()
	t.Logf("%d processes, 8 images each (6 listed, 2 from a Dockerfile; %d distinct): %d failed, wall %.1fs, CPU %.1fs, peak RSS of one process %d MiB; "+
		"upstream: %d manifest GETs (pulls), %d manifest HEADs, %d blob GETs, %.1f MiB",
		procs, len(mirrored), failed, wall.Seconds(), cpuUsed.Seconds(), maxRSS>>10, st.Pulls, st.ManifestHeads, st.BlobGets, float64(st.BlobBytes)/(1<<20))
}

// needECRStack skips the test when it cannot serve an "ECR" at its real
// host name (root for port 443 and /etc/hosts, docker-registry, htpasswd,
// moto_server), except in CI (CI=true), where it fails.
func needECRStack(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("serves ECR stand-ins on port 443; skipped with -short")
	}
	need := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		need("needs root: it serves the ECR stand-in on port 443 and maps its host name in /etc/hosts")
	}
	for _, bin := range []string{"docker-registry", "htpasswd", "moto_server"} {
		if _, err := exec.LookPath(bin); err != nil {
			need("needs %s on PATH: %v", bin, err)
		}
	}
}

// testIP is the loopback address in env, or def.
func testIP(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// buildBinary builds ecrbase into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ecrbase")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// mapHost makes host resolve to ip through /etc/hosts, adding a line when
// it is missing (removed again when the test ends) and refusing a line that
// maps it elsewhere.
func mapHost(t *testing.T, host, ip string) error {
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.SplitN(line, "#", 2)[0])
		for _, h := range f[min(1, len(f)):] {
			if h == host {
				if f[0] != ip {
					return fmt.Errorf("/etc/hosts maps %s to %s, want %s", host, f[0], ip)
				}
				return nil
			}
		}
	}
	added := fmt.Sprintf("%s %s # ecrbase TestManyProcesses\n", ip, host)
	f, err := os.OpenFile("/etc/hosts", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("adding %s to /etc/hosts: %w", host, err)
	}
	defer f.Close()
	if _, err := f.WriteString(added); err != nil {
		return err
	}
	t.Cleanup(func() {
		// /etc/hosts may be a bind mount: rewrite it in place.
		b, err := os.ReadFile("/etc/hosts")
		if err == nil {
			err = os.WriteFile("/etc/hosts", []byte(strings.Replace(string(b), added, "", 1)), 0o644)
		}
		if err != nil {
			t.Errorf("removing %s from /etc/hosts: %v", host, err)
		}
	})
	return nil
}

// serveECR starts docker-registry with TLS and htpasswd at ip:443 for host,
// as ECR's registry, and returns the CA file that trusts it.
func serveECR(t *testing.T, dir, host, ip string) string {
	t.Helper()
	caFile, certFile, keyFile := writeTLS(t, dir, host)
	htpasswd := filepath.Join(dir, "htpasswd")
	out, err := exec.Command("htpasswd", "-Bbn", "-C", "4", "AWS", procsToken).Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	writeFile(t, htpasswd, string(out), 0o600)
	cfg := filepath.Join(dir, "ecr.yml")
	writeFile(t, cfg, fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: "%s:443", secret: procs-test, tls: {certificate: %s, key: %s}}
auth: {htpasswd: {realm: ecr, path: %s}}
`, filepath.Join(dir, "ecr-data"), ip, certFile, keyFile, htpasswd), 0o644)
	if l, err := net.Listen("tcp", ip+":443"); err != nil {
		t.Fatalf("%s:443 is not free: %v", ip, err)
	} else {
		l.Close()
	}
	var logs bytes.Buffer
	cmd := exec.Command("docker-registry", "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	client := &http.Client{Transport: trusting(t, caFile), Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return caFile
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s:443 did not answer: %v\n%s", ip, err, logs.String())
		}
	}
}

func trusting(t *testing.T, caFile string) *http.Transport {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	return tr
}

// writeTLS makes a CA and a server certificate for host.
func writeTLS(t *testing.T, dir, host string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecrbase test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "srv.pem"), filepath.Join(dir, "srv.key")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), 0o644)
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})), 0o644)
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), 0o600)
	return caFile, certFile, keyFile
}

var staticOnce sync.Mutex

// static is one random layer of size bytes, shared by the images built on it.
func static(t *testing.T, size int64) v1.Layer {
	t.Helper()
	staticOnce.Lock()
	defer staticOnce.Unlock()
	img, err := random.Image(size, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls[0]
}

// onBase is a random image whose first layer is base.
func onBase(t *testing.T, base v1.Layer) v1.Image {
	t.Helper()
	top, err := random.Image(8<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := top.Layers()
	img, err := mutate.AppendLayers(empty.Image, base, ls[0])
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pushOnBase writes to target an image on base, or with index an OCI index
// of two platforms of such images, and returns its digest.
func pushOnBase(t *testing.T, target string, base v1.Layer, index bool) string {
	t.Helper()
	ref, err := name.ParseReference(target)
	if err != nil {
		t.Fatal(err)
	}
	var d v1.Hash
	if index {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			pl, _ := v1.ParsePlatform(p)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: onBase(t, base), Descriptor: v1.Descriptor{Platform: pl}})
		}
		err, d = remote.WriteIndex(ref, idx), digestOf(t, idx)
	} else {
		img := onBase(t, base)
		err, d = remote.Write(ref, img), digestOf(t, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
