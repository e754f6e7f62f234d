// Package hubproxy is a fault-injecting reverse proxy that makes any
// registry look like Docker Hub to ecrbase's tests and benchmarks.
//
// In front of an upstream registry it:
//
//   - adds Docker Hub's rate-limit headers (ratelimit-limit: 100;w=21600,
//     ratelimit-remaining: N;w=21600), where every manifest GET that reaches
//     the upstream spends one pull, exactly as Docker Hub counts them;
//   - counts manifest GETs and HEADs, blob GETs and HEADs and blob bytes
//     served (Stats, Reset);
//   - can answer 429 TOOMANYREQUESTS (with or without Retry-After, or a bare
//     429 as the abuse limit sends), answer 5xx, cut the connection partway
//     through a blob or manifest, hang without answering, stall a body after
//     some bytes, tamper with a manifest body while keeping its
//     Docker-Content-Digest, announce a wrong digest on HEAD, or corrupt a
//     blob (SetFault);
//   - can enforce its quota: once no pull remains, manifest GETs get 429.
//
// The same controls are served over HTTP under /_hubproxy/ so shell suites
// can drive the proxy started by cmd/hubproxy:
//
//	GET  /_hubproxy/stats                 Stats as JSON
//	POST /_hubproxy/reset                 zero the counters, refill the quota
//	POST /_hubproxy/fault?mode=429&retry_after=5&times=1
//	POST /_hubproxy/fault?mode=5xx&status=502
//	POST /_hubproxy/fault?mode=cut&cut_after=4096
//	POST /_hubproxy/fault?mode=cut&on=manifest&cut_after=10
//	POST /_hubproxy/fault?mode=429&bare=true&retry_after=1
//	POST /_hubproxy/fault?mode=hang&method=GET
//	POST /_hubproxy/fault?mode=stall&cut_after=1048576
//	POST /_hubproxy/fault?mode=tamper
//	POST /_hubproxy/fault?mode=wrong-digest
//	POST /_hubproxy/fault?mode=corrupt&times=1
//	POST /_hubproxy/fault?mode=normal
//	POST /_hubproxy/quota?limit=100&remaining=3&enforce=true
package hubproxy
