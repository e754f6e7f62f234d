// Package apibridge stands in front of moto_server for the ECR API and
// answers the image calls moto cannot, because the images live in a separate
// stand-in registry: BatchGetImage is answered from that registry's
// manifests, as ECR answers it from its own storage, except for a repository
// the registry has nothing of, whose existence moto decides. Every other call
// goes to moto unchanged.
package apibridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
)

const targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// Bridge is the http.Handler.
type Bridge struct {
	moto     *httputil.ReverseProxy
	registry string // base URL of the registry, http://127.0.0.1:5000
	client   *http.Client

	// Deny answers BatchGetImage with AccessDeniedException, as an IAM
	// policy without ecr:BatchGetImage would.
	Deny atomic.Bool
	// Calls counts the BatchGetImage calls answered.
	Calls atomic.Int64
}

// New returns a bridge forwarding to the moto at motoURL and reading images
// from the registry at registryURL.
func New(motoURL, registryURL string) (*Bridge, error) {
	u, err := url.Parse(motoURL)
	if err != nil {
		return nil, err
	}
	return &Bridge{moto: httputil.NewSingleHostReverseProxy(u), registry: strings.TrimSuffix(registryURL, "/"), client: &http.Client{}}, nil
}

// SetRegistryClient sets the client that reads the registry, for one that
// needs its own trust roots or credentials; call it before serving.
func (b *Bridge) SetRegistryClient(c *http.Client) { b.client = c }

func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != targetPrefix+"BatchGetImage" {
		b.moto.ServeHTTP(w, r)
		return
	}
	b.Calls.Add(1)
	if b.Deny.Load() {
		fail(w, http.StatusBadRequest, "AccessDeniedException", "not authorized to perform: ecr:BatchGetImage")
		return
	}
	var in struct {
		RegistryID         string    `json:"registryId"`
		RepositoryName     string    `json:"repositoryName"`
		ImageIDs           []imageID `json:"imageIds"`
		AcceptedMediaTypes []string  `json:"acceptedMediaTypes"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "InvalidParameterException", err.Error())
		return
	}
	type image struct {
		RegistryID     string  `json:"registryId"`
		RepositoryName string  `json:"repositoryName"`
		ImageID        imageID `json:"imageId"`
		Manifest       string  `json:"imageManifest"`
		MediaType      string  `json:"imageManifestMediaType"`
	}
	type failure struct {
		ImageID imageID `json:"imageId"`
		Code    string  `json:"failureCode"`
		Reason  string  `json:"failureReason"`
	}
	out := struct {
		Images   []image   `json:"images"`
		Failures []failure `json:"failures"`
	}{Images: []image{}, Failures: []failure{}}
	accept := in.AcceptedMediaTypes
	if len(accept) == 0 {
		accept = []string{"application/vnd.docker.distribution.manifest.v2+json"}
	}
	repoSeen := false
	for _, id := range in.ImageIDs {
		ref := id.Tag
		if ref == "" {
			ref = id.Digest
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, b.registry+"/v2/"+in.RepositoryName+"/manifests/"+ref, nil)
		if err != nil {
			fail(w, http.StatusBadRequest, "InvalidParameterException", err.Error())
			return
		}
		req.Header.Set("Accept", strings.Join(accept, ", "))
		resp, err := b.client.Do(req)
		if err != nil {
			fail(w, http.StatusInternalServerError, "ServerException", err.Error())
			return
		}
		manifest, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			if !bytes.Contains(manifest, []byte("NAME_UNKNOWN")) {
				repoSeen = true
			}
			out.Failures = append(out.Failures, failure{ImageID: id, Code: "ImageNotFound", Reason: "Requested image not found"})
			continue
		}
		repoSeen = true
		sum := sha256.Sum256(manifest)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		if id.Digest != "" && id.Digest != digest {
			out.Failures = append(out.Failures, failure{ImageID: id, Code: "ImageTagDoesNotMatchDigest", Reason: "Image tag does not match digest"})
			continue
		}
		mt := resp.Header.Get("Content-Type")
		var probe struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(manifest, &probe) == nil && probe.MediaType != "" {
			mt = probe.MediaType
		}
		out.Images = append(out.Images, image{RegistryID: in.RegistryID, RepositoryName: in.RepositoryName,
			ImageID: imageID{Digest: digest, Tag: id.Tag}, Manifest: string(manifest), MediaType: mt})
	}
	if !repoSeen && len(in.ImageIDs) > 0 {
		// The registry has nothing under this name: whether the repository
		// exists is moto's to say, as CreateRepository is answered there.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		b.moto.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

type imageID struct {
	Digest string `json:"imageDigest,omitempty"`
	Tag    string `json:"imageTag,omitempty"`
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
