// Command seed pushes the images the end-to-end suite (scripts/e2e.sh) serves
// as "Docker Hub" or finds already in "ECR".
//
// No image can be pulled on the test machines, so every image is made here:
// a shared base layer holds /bin/busybox from busybox-static with a link per
// applet, so RUN steps work, plus stand-ins for the language tools the
// examples call (pip, go, npm, ...). A second, small layer names the image, so
// every reference gets its own digest while all of them share the base layer.
// With -frontend the image is instead a BuildKit Dockerfile frontend, which is
// what a "# syntax=" line pulls and runs.
//
// Usage:
//
//	seed -registry 127.0.0.1:5000 [-insecure] [-platforms linux/amd64,linux/arm64] \
//	     [-oci] [-generation N] [-frontend FILE] REPOSITORY:TAG...
//
// It prints one "REPOSITORY:TAG DIGEST" line per image on stdout. The
// registry password, when needed, is read from the variable named by
// -password-env so it never shows in a process list.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the modification time of every file, so that the same inputs give
// the same digests on every run.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// standIn answers for a toolchain the offline images cannot ship. It prints
// what it was asked, and leaves behind what later steps of a typical
// Dockerfile expect: the -o output of "go build", node_modules after npm.
const standIn = `#!/bin/sh
tool=${0##*/}
echo "e2e stand-in: $tool $*"
case "$tool" in
go)
	if [ "$1" = build ]; then
		out=app
		while [ $# -gt 0 ]; do
			if [ "$1" = -o ]; then out=$2; fi
			shift
		done
		case "$out" in */) out=${out}app ;; esac
		mkdir -p "$(dirname "$out")"
		printf '#!/bin/sh\necho "hello from a binary built by the e2e stand-in"\n' >"$out"
		chmod 755 "$out"
	fi
	;;
npm | yarn)
	case "$1" in ci | install | i) mkdir -p node_modules ;; esac
	if [ "$1 $2" = "run build" ]; then mkdir -p dist build; fi
	;;
esac
exit 0
`

// standInTools are the commands the stand-in answers for.
var standInTools = []string{
	"addgroup", "adduser", "apk", "apt-get", "cargo", "gcc", "go", "gofmt", "java", "make",
	"mvn", "node", "npm", "npx", "pip", "pip3", "python", "python3", "useradd", "yarn",
}

const (
	// caBundle is where images keep their CA certificates; Dockerfiles copy
	// it into scratch images, so it has to exist, not to be valid.
	caBundle = "# CA bundle of an ecrbase end-to-end test image; it holds no certificate.\n"
	passwd   = "root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\napp:x:1001:1001:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group    = "root:x:0:\nnode:x:1000:\napp:x:1001:\nnogroup:x:65534:\n"
)

type options struct {
	registry    string
	insecure    bool
	user        string
	passwordEnv string
	platforms   []v1.Platform
	oci         bool
	generation  int
	busybox     string
	frontend    string
}

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.registry, "registry", "", "registry HOST[:PORT] to push to")
	flag.BoolVar(&o.insecure, "insecure", false, "talk plain HTTP to the registry")
	flag.StringVar(&o.user, "user", "", "registry user for basic auth")
	flag.StringVar(&o.passwordEnv, "password-env", "", "name of the variable that holds the registry password")
	flag.StringVar(&platforms, "platforms", "linux/amd64", "comma-separated platforms; more than one pushes an index")
	flag.BoolVar(&o.oci, "oci", false, "push OCI media types instead of Docker schema 2")
	flag.IntVar(&o.generation, "generation", 1, "content generation; a new one moves the tag to a new digest")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox binary for the base layer")
	flag.StringVar(&o.frontend, "frontend", "", "Dockerfile frontend binary; pushes a frontend image instead of a base image")
	flag.Parse()
	if o.registry == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: seed -registry HOST[:PORT] [flags] REPOSITORY:TAG...")
		os.Exit(2)
	}
	for _, p := range strings.Split(platforms, ",") {
		pl, err := v1.ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "seed: parsing platform %q: %v\n", p, err)
			os.Exit(2)
		}
		o.platforms = append(o.platforms, *pl)
	}
	if err := run(o, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(o options, refs []string, stdout io.Writer) error {
	base, err := baseLayer(o)
	if err != nil {
		return err
	}
	var ropts []remote.Option
	if o.user != "" {
		ropts = append(ropts, remote.WithAuth(&authn.Basic{Username: o.user, Password: os.Getenv(o.passwordEnv)}))
	}
	var nopts []name.Option
	if o.insecure {
		nopts = append(nopts, name.Insecure)
	}
	for _, r := range refs {
		ref, err := name.ParseReference(o.registry+"/"+r, append(nopts, name.StrictValidation)...)
		if err != nil {
			return fmt.Errorf("parsing reference %q: %w", r, err)
		}
		digest, err := push(o, base, r, ref, ropts)
		if err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		fmt.Fprintf(stdout, "%s %s\n", r, digest)
	}
	return nil
}

// push builds the image (or index) for one reference and writes it.
func push(o options, base v1.Layer, r string, ref name.Reference, ropts []remote.Option) (v1.Hash, error) {
	if len(o.platforms) == 1 {
		img, err := image(o, base, r, o.platforms[0])
		if err != nil {
			return v1.Hash{}, err
		}
		if err := remote.Write(ref, img, ropts...); err != nil {
			return v1.Hash{}, err
		}
		return img.Digest()
	}
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	if o.oci {
		idx = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	}
	for _, p := range o.platforms {
		img, err := image(o, base, r, p)
		if err != nil {
			return v1.Hash{}, err
		}
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	if err := remote.WriteIndex(ref, idx, ropts...); err != nil {
		return v1.Hash{}, err
	}
	return idx.Digest()
}

// image is the shared base layer plus a layer that names the image, or the
// frontend binary for a frontend image.
func image(o options, base v1.Layer, r string, p v1.Platform) (v1.Image, error) {
	mt := types.DockerLayer
	img := empty.Image
	if o.oci {
		mt = types.OCILayer
		img = mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
	}
	marker := fmt.Sprintf("%s generation %d %s\n", r, o.generation, p.String())
	top, err := layer(mt, func(tw *tar.Writer) error {
		if err := writeDir(tw, "etc/"); err != nil {
			return err
		}
		return writeFile(tw, "etc/e2e-image", 0o644, []byte(marker))
	})
	if err != nil {
		return nil, err
	}
	layers := []v1.Layer{base, top}
	cfg := v1.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd: []string{"sh"},
	}
	if o.frontend != "" {
		fe, err := frontendLayer(mt, o.frontend)
		if err != nil {
			return nil, err
		}
		layers = append(layers, fe)
		cfg.Cmd = nil
		cfg.Entrypoint = []string{"/bin/dockerfile-frontend"}
		cfg.Labels = map[string]string{
			"moby.buildkit.frontend.network.none": "true",
			"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		}
	}
	img, err = mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: epoch}
	return mutate.ConfigFile(img, cf)
}

// baseLayer is busybox with one link per applet, the stand-in tools and the
// few files in /etc that RUN steps and USER lines expect.
func baseLayer(o options) (v1.Layer, error) {
	bb, err := os.ReadFile(o.busybox)
	if err != nil {
		return nil, fmt.Errorf("reading busybox: %w", err)
	}
	out, err := exec.Command(o.busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets of %s: %w", o.busybox, err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	mt := types.DockerLayer
	if o.oci {
		mt = types.OCILayer
	}
	return layer(mt, func(tw *tar.Writer) error {
		for _, d := range []string{"bin/", "etc/", "home/", "home/node/", "home/app/", "etc/ssl/", "etc/ssl/certs/", "root/", "usr/", "usr/bin/", "usr/local/", "usr/local/bin/", "var/"} {
			if err := writeDir(tw, d); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777, ModTime: epoch}); err != nil {
			return err
		}
		if err := writeFile(tw, "bin/busybox", 0o755, bb); err != nil {
			return err
		}
		for _, a := range applets {
			if a == "busybox" || strings.Contains(a, "/") {
				continue
			}
			if err := writeLink(tw, "bin/"+a, "busybox"); err != nil {
				return err
			}
		}
		if err := writeFile(tw, "usr/local/bin/e2e-stand-in", 0o755, []byte(standIn)); err != nil {
			return err
		}
		for _, t := range standInTools {
			if err := writeLink(tw, "usr/local/bin/"+t, "e2e-stand-in"); err != nil {
				return err
			}
		}
		if err := writeFile(tw, "etc/ssl/certs/ca-certificates.crt", 0o644, []byte(caBundle)); err != nil {
			return err
		}
		if err := writeFile(tw, "etc/passwd", 0o644, []byte(passwd)); err != nil {
			return err
		}
		return writeFile(tw, "etc/group", 0o644, []byte(group))
	})
}

func frontendLayer(mt types.MediaType, path string) (v1.Layer, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading frontend: %w", err)
	}
	return layer(mt, func(tw *tar.Writer) error {
		if err := writeDir(tw, "bin/"); err != nil {
			return err
		}
		return writeFile(tw, "bin/dockerfile-frontend", 0o755, bin)
	})
}

// layer builds an in-memory tar with fill and returns it as a gzip layer.
func layer(mt types.MediaType, fill func(*tar.Writer) error) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := fill(tw); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt))
}

func writeDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch})
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func writeLink(tw *tar.Writer, name, target string) error {
	if target == "" {
		return errors.New("empty link target for " + name)
	}
	return tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch})
}
