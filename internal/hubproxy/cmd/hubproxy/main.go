// Command hubproxy serves a fault-injecting, Docker-Hub-like proxy in front
// of a registry for shell test suites and benchmarks.
//
//	hubproxy -listen 127.0.0.1:5002 -upstream http://127.0.0.1:5001 -limit 100 [-bearer]
//
// It prints its base URL on stdout once it listens (useful with port 0) and
// is driven through /_hubproxy/ on the same port; see package hubproxy.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"ecrbase/internal/hubproxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5002", "address to listen on (port 0 picks a free port)")
	upstream := flag.String("upstream", "", "upstream registry base URL, e.g. http://127.0.0.1:5001")
	limit := flag.Int("limit", hubproxy.DefaultLimit, "pull limit sent in ratelimit-limit; 0 sends no rate-limit headers")
	enforce := flag.Bool("enforce", false, "answer 429 TOOMANYREQUESTS to manifest GETs once no pull remains")
	bearer := flag.Bool("bearer", false, "ask for Docker Hub style bearer tokens, served at /token, one scope per repository")
	flag.Parse()
	if *upstream == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: hubproxy -upstream URL [-listen ADDR] [-limit N] [-enforce] [-bearer]")
		os.Exit(2)
	}
	p, err := hubproxy.New(*upstream, *limit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubproxy:", err)
		os.Exit(2)
	}
	p.SetQuota(*limit, *limit, *enforce)
	p.SetBearer(*bearer)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hubproxy: listening on %s: %v\n", *listen, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	if err := http.Serve(ln, p); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "hubproxy:", err)
		os.Exit(1)
	}
}
