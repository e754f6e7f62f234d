package settings

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"ecrbase/ecr"
	"ecrbase/internal/registry"
)

// The commands and their flags, declared once: the command line builds its
// commands from them, Check holds the values to their kinds, and the help
// shows each default from the library that applies it.

// Kind is what a flag's value is.
type Kind uint8

// The kinds of flag values.
const (
	Text     Kind = iota // a string
	List                 // repeatable; Given holds one value per occurrence
	Bool                 // true or false; a bare flag is true
	Int                  // a whole number of at least 1
	Duration             // a duration such as 10m, never a negative one
	Path                 // a file name
)

// Spec declares a flag.
type Spec struct {
	Name  string
	Alias string // a one-letter alias, as -w for --write
	Kind  Kind
	// Usage is the flag's help; a word in backquotes names its value.
	Usage string
	// Value is the default as text ("4", "30s", "true"); "" for none.
	Value string
	// Env is the flag's environment variable, ECRBASE_ and its name in
	// upper case unless given.
	Env string
	// AlsoEnv is read when Env is not set (AWS_ACCOUNT_ID for --account).
	AlsoEnv string
}

// EnvVars are the environment variables of the flag, in the order they are
// read.
func (s Spec) EnvVars() []string {
	env := s.Env
	if env == "" {
		env = "ECRBASE_" + strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
	}
	if s.AlsoEnv != "" {
		return []string{env, s.AlsoEnv}
	}
	return []string{env}
}

// Command declares a command: its help and its flags, in the order Check
// holds them to their rules.
type Command struct {
	Name      string
	Usage     string // one line, for the list of commands
	ArgsUsage string
	Help      string
	Flags     []Spec
}

// Commands are the commands, in the order the help lists them.
func Commands() []Command {
	mirror := mirrorCommand()
	return []Command{imagesCommand(), rewriteCommand(), mirror, buildArgsCommand(),
		replicationCommand(), configCommand(mirror), renovateCommand(mirror)}
}

// CommandSpec is the declaration of the command name; ok is false for no
// such command.
func CommandSpec(name string) (cmd Command, ok bool) {
	cmds := Commands()
	i := slices.IndexFunc(cmds, func(c Command) bool { return c.Name == name })
	if i < 0 {
		return Command{}, false
	}
	return cmds[i], true
}

// Global are the flags given before the command.
func Global() []Spec {
	return []Spec{{Name: "config", Usage: "read settings from `FILE` instead of the nearest .ecrbase.yaml"}}
}

// specOf is the declaration of flag name in any command, or of a global
// flag; a Text flag with no environment variable for none.
func specOf(name string) Spec {
	if s, ok := flagSpecs()[name]; ok {
		return s
	}
	return Spec{Name: name, Env: "-"}
}

// flagSpecs are the declared flags by name, the first declaration of each.
var flagSpecs = sync.OnceValue(func() map[string]Spec {
	m := map[string]Spec{}
	for _, cmd := range append(Commands(), Command{Flags: Global()}) {
		for _, f := range cmd.Flags {
			if _, ok := m[f.Name]; !ok {
				m[f.Name] = f
			}
		}
	}
	return m
})

func kindOf(name string) Kind { return specOf(name).Kind }

// Set are the flags set, each by name with its values as text: one for a
// single-valued flag (a boolean is "true" or "false"), one per occurrence
// of a list flag. The environment tells which came from a variable.
func Set(values map[string][]string, lookupEnv func(string) (string, bool)) Given {
	g := make(Given, len(values))
	for name, v := range values {
		g[name] = Flag{Values: v, Env: specOf(name).fromEnv(v, lookupEnv)}
	}
	return g
}

// fromEnv is the environment variable that gave a flag set to values, or
// "" when the command line did. Only the first variable that is set counts,
// and a flag on the command line replaces its value.
func (s Spec) fromEnv(values []string, lookupEnv func(string) (string, bool)) string {
	for _, env := range s.EnvVars() {
		v, ok := lookupEnv(env)
		if !ok {
			continue
		}
		var same bool
		switch s.Kind {
		case List:
			items := strings.Split(v, ",")
			for i := range items {
				items[i] = strings.TrimSpace(items[i])
			}
			same = slices.Equal(values, items)
		case Bool:
			b, err := strconv.ParseBool(v)
			same = (v == "" && values[0] == "false") || (err == nil && strconv.FormatBool(b) == values[0])
		case Text, Path:
			same = len(values) == 1 && values[0] == v
		default:
			same = true
		}
		if same {
			return env
		}
		return ""
	}
	return ""
}

// naming are the flags that decide what a rewritten Dockerfile says;
// images, rewrite, mirror and build-args share them so that all agree.
func naming() []Spec {
	return []Spec{
		{Name: "build-arg", Kind: List, Usage: "set a build argument `K=V`, as docker build does"},
		{Name: "prefix", Kind: List, Usage: "ECR repository prefix for a registry, `REGISTRY=PREFIX` (docker.io=docker-hub)"},
		{Name: "exclude", Kind: List, Usage: "leave references matching `PATTERN` alone (path.Match on the reference or name)"},
		{Name: "only", Kind: List, Usage: "rewrite only references from `REGISTRY`"},
		{Name: "ignore", Kind: List, Usage: "skip Dockerfiles matching the gitignore-style `PATTERN` when searching directories (with ignore: in .ecrbase.yaml)"},
		{Name: "account-arg", Usage: "build argument `NAME` holding the AWS account", Value: registry.DefaultAccountArg},
		{Name: "region-arg", Usage: "build argument `NAME` holding the AWS region", Value: registry.DefaultRegionArg},
		{Name: "region", Usage: "AWS `REGION`: where mirrors live, and the default written for the region argument (else .ecrbase.yaml, else AWS_REGION or AWS_DEFAULT_REGION)"},
		{Name: "account", Usage: "AWS account `ID` (for --syntax=literal and mirror)", AlsoEnv: "AWS_ACCOUNT_ID"},
		{Name: "strict", Kind: Bool, Usage: "fail on references that cannot be resolved"},
		{Name: "syntax", Usage: "what to do with # syntax= images: `keep|literal`", Value: "keep"},
		{Name: "onbuild", Usage: "what to do with ONBUILD images: `keep|literal` (literal writes the ECR URI with the account, when known)", Value: "keep"},
	}
}

func imagesCommand() Command {
	return Command{
		Name:      "images",
		Usage:     "list the images Dockerfiles pull and where they map in ECR",
		ArgsUsage: "[PATH...]",
		Help: `PATH is a Dockerfile, a directory searched recursively, or - for stdin
	(default: the current directory).

	Examples:
	   ecrbase images
	   ecrbase images --json services/api/Dockerfile
	   ecrbase images --build-arg PYTHON_VERSION=3.12 .`,
		Flags: append([]Spec{{Name: "json", Kind: Bool, Usage: "print JSON"}}, naming()...),
	}
}

func rewriteCommand() Command {
	return Command{
		Name:      "rewrite",
		Usage:     "rewrite Dockerfiles to pull their images from ECR",
		ArgsUsage: "[PATH...]",
		Help: `With one file, the result goes to stdout. --write changes files in place
	(atomically, keeping mode, owner and group; read-only files need --force,
	hard-linked ones are refused), --diff prints a unified diff, and --check
	lists every pull that does not go to ECR ("file:line image why") and exits
	3 when a file can still be rewritten: the pre-commit hook. With --strict,
	--check also exits 3 for pulls the rewrite leaves upstream (kept,
	unresolved, # syntax=). --check never reads AWS configuration or touches
	the network.

	Examples:
	   ecrbase rewrite Dockerfile
	   ecrbase rewrite -w .
	   ecrbase rewrite --check --region us-east-1 services/
	   ecrbase rewrite --diff --prefix docker.io=hub Dockerfile`,
		Flags: append([]Spec{
			{Name: "write", Alias: "w", Kind: Bool, Usage: "rewrite files in place"},
			{Name: "diff", Kind: Bool, Usage: "print a unified diff"},
			{Name: "check", Kind: Bool, Usage: "list files that would change; exit 3 if any"},
			{Name: "force", Kind: Bool, Usage: "with --write, write read-only files too"},
		}, naming()...),
	}
}

func mirrorCommand() Command {
	flags := []Spec{
		{Name: "image", Kind: List, Usage: "also mirror `REF` (repeatable)"},
		{Name: "images-from", Kind: Path, Usage: "also mirror the references listed in `FILE`, one per line, # comments (- reads stdin)"},
		{Name: "platform", Kind: List, Usage: "copy only these platforms of an index, `OS/ARCH[,...]` (the index digest changes)"},
		{Name: "no-update", Kind: Bool, Usage: "keep what ECR has when an upstream tag moved"},
		{Name: "dry-run", Kind: Bool, Usage: "print the plan; write nothing, spend no pull"},
		{Name: "json", Kind: Bool, Usage: "write the report as JSON to stdout"},
		{Name: "rewrite", Kind: Bool, Usage: "rewrite the Dockerfiles in place after a successful mirror"},
		{Name: "pin", Kind: Bool, Usage: "with --rewrite, add the mirrored @sha256 digest to each reference"},
		{Name: "jobs", Kind: Int, Usage: "copy `N` images in parallel", Value: strconv.Itoa(ecr.DefaultJobs)},
		{Name: "head-jobs", Kind: Int, Usage: "check `N` images (HEAD requests) in parallel before copying", Value: strconv.Itoa(ecr.DefaultHeadJobs)},
		{Name: "registry-mirror", Kind: List, Usage: "read `REGISTRY=URL` through a mirror or proxy"},
		{Name: "insecure-registry", Kind: List, Usage: "allow plain HTTP to `HOST` (loopback is always allowed)"},
		{Name: "wait", Kind: Bool, Usage: "when Docker Hub's pull window is used up, wait instead of failing"},
		{Name: "max-wait", Kind: Duration, Usage: "with --wait, longest total wait on 429 answers per image, a `DURATION` such as 10m", Value: ecr.DefaultMaxWait.String()},
		{Name: "timeout", Kind: Duration, Usage: "the longest a registry or the AWS API may stay silent before the request is abandoned, a `DURATION`; when set, it bounds content sources too (else 10s)", Value: ecr.DefaultTimeout.String()},
		{Name: "scan-on-push", Kind: Bool, Usage: "turn on scan-on-push in repositories it creates", Value: "true"},
		{Name: "tag-mutability", Usage: "tag mutability of repositories it creates, `MUTABLE|IMMUTABLE`"},
		{Name: "kms-key", Usage: "encrypt created repositories with KMS key `ARN` (default AES256)"},
		{Name: "repo-tag", Kind: List, Usage: "tag created repositories with `K=V`"},
		{Name: "lifecycle-policy", Kind: Path, Usage: "apply the lifecycle policy in `FILE` to created repositories"},
		{Name: "scan-wait", Kind: Bool, Usage: "wait for the scan results of the images pushed"},
		{Name: "fail-on", Usage: "exit 1 when a scan finds `SEVERITY` or worse (LOW, MEDIUM, HIGH, CRITICAL)"},
		{Name: "content-source", Kind: List, Usage: "for `REGISTRY=URL`, read that registry's images by digest from URL first, verified; repeatable, in order of preference (replaces the defaults)"},
		{Name: "no-content-sources", Kind: Bool, Usage: "read every image from its own registry, defaults included"},
		{Name: "no-referrers", Kind: Bool, Usage: "do not copy signatures, attestations and other referrers of the images"},
	}
	return Command{
		Name:      "mirror",
		Usage:     "copy every image Dockerfiles pull into ECR, digest-exact",
		ArgsUsage: "[PATH...]",
		Help: `For each image, mirror HEADs the source (free on Docker Hub) and the ECR tag:
	an image already in ECR with the same digest costs no pull at all. Missing
	images are copied whole (every platform of an index), stale ones updated,
	blobs streamed and skipped when ECR has them, and the tag written last.
	Repositories are created as needed, with scan-on-push.

	Account: --account, AWS_ACCOUNT_ID, CODEBUILD_BUILD_ARN, then STS.
	Region and credentials: the AWS SDK's default chain (--region overrides).
	Docker Hub credentials: DOCKERHUB_USERNAME and DOCKERHUB_TOKEN, or the
	Docker config file and its credential helpers.

	Examples:
	   ecrbase mirror --rewrite .                     # CodeBuild pre_build
	   ecrbase mirror --dry-run services/api
	   ecrbase mirror --image python:3.12 --image quay.io/minio/minio:latest
	   ecrbase mirror --images-from base-images.txt   # a catalogue, e.g. on a schedule
	   ecrbase mirror --platform linux/amd64,linux/arm64 --json . > mirror.json
	   ecrbase mirror --registry-mirror docker.io=https://artifactory.example.com/dockerhub .
	   ecrbase mirror --content-source docker.io=https://mirror.gcr.io .

	Docker Hub images are read by digest from content sources first (by
	default public.ecr.aws/docker for official images, then mirror.gcr.io),
	verified, so that Docker Hub counts no pull; its tag is still resolved on
	Docker Hub with a free HEAD. Signatures and other referrers of the images
	are copied too (--no-referrers to skip them).`,
		Flags: append(flags, naming()...),
	}
}

func buildArgsCommand() Command {
	return Command{
		Name:      "build-args",
		Usage:     "print the build arguments a rewritten Dockerfile needs",
		ArgsUsage: "[PATH...]",
		Help: `Resolves the account and region as mirror does and prints them as
	--build-arg flags for docker build. When a Dockerfile keeps its # syntax=
	image as written, BUILDKIT_SYNTAX points BuildKit at the mirrored copy.

	Examples:
	   docker build $(ecrbase build-args) -t app .
	   ecrbase build-args --format env >> build.env
	   ecrbase build-args --format json`,
		Flags: append([]Spec{
			{Name: "format", Usage: "print the arguments as `docker|env|json`", Value: "docker"},
		}, naming()...),
	}
}

func replicationCommand() Command {
	return Command{
		Name:      "replication",
		Usage:     "make ECR replicate the mirrored repositories to other regions or accounts",
		ArgsUsage: "[PATH...]",
		Help: `Sets the registry's replication configuration (PutReplicationConfiguration)
	so ECR itself copies every push under the prefixes ecrbase writes
	(docker-hub/, quay/, ... and any --prefix or .ecrbase.yaml prefix) to each
	--to destination. Existing rules are read first (DescribeRegistry) and
	kept; a destination already covered is left alone, so running it again
	changes nothing.

	ECR replicates only new pushes. --backfill copies the images already
	mirrored (those of the Dockerfiles under PATH, --image and --images-from)
	from this registry into each destination, registry to registry,
	digest-exact, creating repositories as mirror does.

	Examples:
	   ecrbase replication --to eu-west-1 --to us-west-2:210987654321
	   ecrbase replication --to eu-west-1 --backfill --images-from base-images.txt
	   ecrbase replication --to eu-west-1 --dry-run --json`,
		Flags: append([]Spec{
			{Name: "to", Kind: List, Usage: "replicate to `REGION[:ACCOUNT]` (repeatable)", Env: "ECRBASE_REPLICATE_TO"},
			{Name: "backfill", Kind: Bool, Usage: "also copy the images already mirrored into each destination"},
			{Name: "image", Kind: List, Usage: "with --backfill, also copy `REF` (repeatable)"},
			{Name: "images-from", Kind: Path, Usage: "with --backfill, also copy the references listed in `FILE`"},
			{Name: "dry-run", Kind: Bool, Usage: "print what would be set and copied; write nothing"},
			{Name: "json", Kind: Bool, Usage: "write the result as JSON to stdout"},
			{Name: "jobs", Kind: Int, Usage: "copy `N` images in parallel with --backfill", Value: strconv.Itoa(ecr.DefaultJobs)},
			{Name: "timeout", Kind: Duration, Usage: "the longest a registry or the AWS API may stay silent before the request is abandoned, a `DURATION`", Value: ecr.DefaultTimeout.String()},
			{Name: "scan-on-push", Kind: Bool, Usage: "turn on scan-on-push in repositories --backfill creates", Value: "true"},
			{Name: "tag-mutability", Usage: "`MUTABLE` or IMMUTABLE, for repositories --backfill creates"},
			{Name: "kms-key", Usage: "encrypt repositories --backfill creates with KMS key `ARN`"},
			{Name: "repo-tag", Kind: List, Usage: "tag repositories --backfill creates with `K=V`"},
			{Name: "lifecycle-policy", Kind: Path, Usage: "apply the lifecycle policy in `FILE` to repositories --backfill creates"},
		}, naming()...),
	}
}

// fileFlags are the flags of mirror that .ecrbase.yaml can set too, which
// config takes so that it shows what a command line would use.
var fileFlags = []string{"platform", "registry-mirror", "insecure-registry", "scan-on-push", "tag-mutability", "kms-key", "repo-tag", "lifecycle-policy", "content-source", "no-content-sources"}

func configCommand(mirror Command) Command {
	flags := append([]Spec{{Name: "json", Kind: Bool, Usage: "print JSON"}}, naming()...)
	for _, f := range mirror.Flags {
		if slices.Contains(fileFlags, f.Name) {
			flags = append(flags, f)
		}
	}
	return Command{
		Name:  "config",
		Usage: "print the effective configuration and where each value comes from",
		Help: `Settings come from, in order: a flag, its environment variable, the
	repository's .ecrbase.yaml (looked up from the current directory to the git
	root; --config or ECRBASE_CONFIG names another), then the built-in default.
	config takes the same flags as mirror, so it shows what a command line would
	use. The README describes the file field by field.

	Examples:
	   ecrbase config
	   ecrbase config --json
	   ecrbase --config ci/ecrbase.yaml config --platform linux/amd64`,
		Flags: flags,
	}
}

func renovateCommand(mirror Command) Command {
	flags := []Spec{
		{Name: "format", Usage: "print the configuration as `json|table`", Value: "json"},
		{Name: "merge", Usage: "merge into the Renovate configuration in `FILE` (renovate.json) and print the result"},
		{Name: "write", Alias: "w", Kind: Bool, Usage: "with --merge, write the result back to the file"},
	}
	for _, f := range mirror.Flags {
		if f.Name == "platform" {
			flags = append(flags, f)
		}
	}
	return Command{
		Name:      "renovate",
		Usage:     "print the Renovate registryAliases that match the rewritten Dockerfiles",
		ArgsUsage: "[PATH...]",
		Help: `Renovate substitutes the defaults of the ARGs a Dockerfile declares, then
	looks the image up through registryAliases. renovate prints one alias per
	ECR host the Dockerfiles name once rewritten (each region default and
	account ARG name in use) and per repository prefix (the built-in ones,
	--prefix and .ecrbase.yaml's), so Renovate updates tags in ECR references
	as it would upstream. With platforms set (--platform or .ecrbase.yaml),
	the digests in ECR are not upstream's, and a package rule turns off
	Renovate's digest updates for the mirrored images.

	Examples:
	   ecrbase renovate > renovate.json
	   ecrbase renovate --merge renovate.json -w
	   ecrbase renovate --format table services/`,
		Flags: append(flags, naming()...),
	}
}
