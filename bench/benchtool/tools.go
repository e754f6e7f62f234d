package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The tools, each with the options that suit mirroring Docker Hub images into ECR.
// Peers read the upstream through the counting proxy by its loopback address; ecrbase
// reads docker.io through the same proxy with --registry-mirror. All write to the
// same TLS, htpasswd-protected target at the ECR host name.

// toolByName returns the tool called name; `name[FLAGS]` (for example
// `ecrbase[--jobs=1]`) is a variant with FLAGS added to each of its commands.
func toolByName(bins Bins, name string, jobs int) (Tool, error) {
	if base, other, ok := strings.Cut(name, "~"); ok {
		// `ecrbase~NAME`: the tool run from the binary NAME next to it, to
		// compare two builds side by side.
		t, err := toolByName(bins, base, jobs)
		cmds := t.Commands
		t.Name, t.Options = name, fmt.Sprintf("as %s, run from the binary %s.", base, other)
		t.Commands = func(h *Harness, imgs []ImageSpec) ([][]string, error) {
			out, err := cmds(h, imgs)
			for _, argv := range out {
				argv[0] = filepath.Join(bins.Dir, other)
			}
			return out, err
		}
		return t, err
	}
	if base, ok := strings.CutSuffix(name, "@lan"); ok {
		// The same tool with the WAN shaping off for its runs: what is left
		// of its wall time is CPU and local I/O, not round trips.
		t, err := toolByName(bins, base, jobs)
		t.Name, t.Options, t.LAN = name, fmt.Sprintf("as %s, with every link unshaped for its runs (no added latency, no cap).", base), true
		return t, err
	}
	if base, extra, ok := strings.Cut(name, "["); ok && strings.HasSuffix(extra, "]") {
		t, err := toolByName(bins, base, jobs)
		if err != nil {
			return t, err
		}
		flags := strings.Fields(strings.TrimSuffix(extra, "]"))
		cmds := t.Commands
		t.Name = name
		t.Options = fmt.Sprintf("as %s, plus `%s`.", base, strings.Join(flags, " "))
		t.Commands = func(h *Harness, imgs []ImageSpec) ([][]string, error) {
			out, err := cmds(h, imgs)
			for i, argv := range out {
				// after the subcommand: argv[0] is the program, argv[1] the command
				out[i] = append(append(append([]string{}, argv[:2]...), flags...), argv[2:]...)
			}
			return out, err
		}
		return t, nil
	}
	switch name {
	case "ecrbase":
		return Tool{
			Name: "ecrbase",
			Options: "`ecrbase mirror --image docker.io/REPO:TAG ... --registry-mirror docker.io=http://PROXY " +
				"--account 123456789012 --region eu-north-1`: one process for the whole list, default `--jobs 4`; " +
				"registry credentials from moto's GetAuthorizationToken, repositories created through moto's CreateRepository.",
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				argv := []string{bins.Ecrbase, "mirror", "--registry-mirror", "docker.io=http://" + h.Stack.Proxy,
					"--account", account, "--region", benchRegion}
				for _, img := range imgs {
					argv = append(argv, "--image", "docker.io/"+img.Ref())
				}
				return [][]string{argv}, nil
			},
		}, nil
	case "ecrbase-content":
		return Tool{
			Name: "ecrbase-content",
			Options: "as ecrbase, plus `--content-source docker.io=http://CONTENT`: a second docker-registry serving the upstream's " +
				"storage, so it holds every image by digest; tags are still resolved through the counting proxy with HEADs.",
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				argv := []string{bins.Ecrbase, "mirror", "--registry-mirror", "docker.io=http://" + h.Stack.Proxy,
					"--content-source", "docker.io=http://" + h.Stack.Content,
					"--account", account, "--region", benchRegion}
				for _, img := range imgs {
					argv = append(argv, "--image", "docker.io/"+img.Ref())
				}
				return [][]string{argv}, nil
			},
		}, nil
	case "crane":
		return Tool{
			Name: "crane",
			Options: fmt.Sprintf("`crane copy --jobs %d SRC DST` per image. crane keeps manifests byte-identical and copies every "+
				"platform of an index; it skips blobs the target has (HEAD). `--jobs` sets how many blobs and child manifests move "+
				"at once (default GOMAXPROCS, 2 here); 2, 4 and 8 measured alike here (see notes), %d kept. Plain HTTP to the loopback source is automatic.", jobs, jobs),
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				var out [][]string
				for _, img := range imgs {
					out = append(out, []string{bins.Crane, "copy", "--jobs", fmt.Sprint(jobs),
						h.Stack.Proxy + "/" + img.Ref(), h.Stack.Target + "/" + targetRepo(img) + ":" + img.Tag})
				}
				return out, nil
			},
		}, nil
	case "regctl":
		return Tool{
			Name: "regctl",
			Options: fmt.Sprintf("`regctl image copy --fast SRC DST` per image, with a config file giving the source `tls: disabled` and "+
				"both hosts `reqConcurrent: %d` (default 3; 2, 4 and 8 measured alike here). `--fast` skips referrer and digest-tag checks "+
				"when the target already has the digest; regctl compares HEADs of source and target before any GET.", jobs),
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				cfg := map[string]any{"hosts": map[string]any{
					h.Stack.Proxy:  map[string]any{"tls": "disabled", "reqConcurrent": jobs},
					h.Stack.Target: map[string]any{"user": "AWS", "pass": ecrPassword, "reqConcurrent": jobs},
				}}
				b, _ := json.Marshal(cfg)
				if err := os.WriteFile(filepath.Join(h.Stack.Dir, "regctl.json"), b, 0o600); err != nil {
					return nil, err
				}
				var out [][]string
				for _, img := range imgs {
					out = append(out, []string{bins.Regctl, "image", "copy", "--fast",
						h.Stack.Proxy + "/" + img.Ref(), h.Stack.Target + "/" + targetRepo(img) + ":" + img.Tag})
				}
				return out, nil
			},
		}, nil
	case "skopeo":
		return Tool{
			Name: "skopeo",
			Options: "`skopeo copy --all --preserve-digests --quiet --src-tls-verify=false --dest-cert-dir CA docker://SRC docker://DST` " +
				"per image; credentials from REGISTRY_AUTH_FILE. `--all` copies every platform, `--preserve-digests` refuses any " +
				"manifest conversion. `skopeo sync --src yaml` (the `skopeo-sync` row) is measured too: skopeo offers both.",
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				var out [][]string
				for _, img := range imgs {
					out = append(out, []string{bins.Skopeo, "copy", "--all", "--preserve-digests", "--quiet",
						"--src-tls-verify=false", "--dest-cert-dir", h.Stack.CertDir,
						"docker://" + h.Stack.Proxy + "/" + img.Ref(), "docker://" + h.Stack.Target + "/" + targetRepo(img) + ":" + img.Tag})
				}
				return out, nil
			},
		}, nil
	case "regsync":
		return Tool{
			Name: "regsync",
			Options: "`regsync once -c CONFIG`: regclient's catalogue mode, one process for the whole list, one `type: repository` " +
				"entry per repository (every upstream tag of a repository is in the list), `parallel: 32` (default 1), " +
				"credentials and `tls: disabled` for the source in the config.",
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				var cfg strings.Builder
				fmt.Fprintf(&cfg, "version: 1\ncreds:\n  - registry: %s\n    tls: disabled\n  - registry: %s\n    user: AWS\n    pass: %s\n",
					h.Stack.Proxy, h.Stack.Target, ecrPassword)
				cfg.WriteString("defaults:\n  parallel: 32\nsync:\n")
				seen := map[string]bool{}
				for _, img := range imgs {
					if seen[img.Repo] {
						continue
					}
					seen[img.Repo] = true
					fmt.Fprintf(&cfg, "  - source: %s/%s\n    target: %s/%s\n    type: repository\n", h.Stack.Proxy, img.Repo, h.Stack.Target, targetRepo(img))
				}
				p := filepath.Join(h.Stack.Dir, "regsync.yml")
				if err := os.WriteFile(p, []byte(cfg.String()), 0o600); err != nil {
					return nil, err
				}
				return [][]string{{bins.Regsync, "once", "-c", p, "-v", "error"}}, nil
			},
		}, nil
	case "skopeo-sync":
		return Tool{
			Name: "skopeo-sync",
			Options: "`skopeo sync --src yaml --dest docker --all --preserve-digests --dest-cert-dir CA LIST.yaml TARGET/docker-hub`: " +
				"one process for the whole list, which skopeo offers instead of a loop.",
			Commands: func(h *Harness, imgs []ImageSpec) ([][]string, error) {
				byRepo := map[string][]string{}
				for _, img := range imgs {
					byRepo[img.Repo] = append(byRepo[img.Repo], img.Tag)
				}
				repos := make([]string, 0, len(byRepo))
				for r := range byRepo {
					repos = append(repos, r)
				}
				sort.Strings(repos)
				// sync names the destination by the last path element of each repository,
				// so every Docker Hub namespace gets its own run into docker-hub/<namespace>.
				var out [][]string
				for _, ns := range namespaces(imgs) {
					var nb strings.Builder
					fmt.Fprintf(&nb, "%s:\n  tls-verify: false\n  images:\n", h.Stack.Proxy)
					for _, r := range repos {
						if strings.HasPrefix(r, ns+"/") {
							fmt.Fprintf(&nb, "    %s: [%s]\n", r, strings.Join(quoteAll(byRepo[r]), ", "))
						}
					}
					np := filepath.Join(h.Stack.Dir, "skopeo-sync-"+ns+".yaml")
					if err := os.WriteFile(np, []byte(nb.String()), 0o644); err != nil {
						return nil, err
					}
					out = append(out, []string{bins.Skopeo, "sync", "--src", "yaml", "--dest", "docker", "--all",
						"--preserve-digests", "--dest-cert-dir", h.Stack.CertDir, np, h.Stack.Target + "/docker-hub/" + ns})
				}
				return out, nil
			},
		}, nil
	}
	return Tool{}, fmt.Errorf("unknown tool %q (ecrbase, crane, regctl, regsync, skopeo, skopeo-sync)", name)
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// namespaces lists the Docker Hub namespaces (library, bitnami, ...) of imgs, sorted.
func namespaces(imgs []ImageSpec) []string {
	seen := map[string]bool{}
	var out []string
	for _, img := range imgs {
		ns, _, _ := strings.Cut(img.Repo, "/")
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}
