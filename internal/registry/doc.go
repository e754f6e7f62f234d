// Package registry holds the rules about registries, ECR and AWS settings
// that more than one part of ecrbase applies: how a registry host is
// normalised, the ECR host name, platforms, registry-mirror URLs, ECR
// repository names and tag mutability, lifecycle policies, build argument
// names and the region variables. rewrite, ecr and the command's
// configuration file all call these, so a value one of them accepts the
// others accept too.
package registry
