package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/awslabs/goformation/v7/schema"
	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

const templatePath = "cloudformation/template.yaml"

// goformation resolves AWS::AccountId and AWS::Region to these fixed values.
const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// scenario is one set of stack parameters. The template has two conditions
// (pipeline or not, repository prefix or not); the scenarios take each branch
// of both, so every Fn::If value is parsed and validated at least once.
type scenario struct {
	name   string
	params map[string]any
}

var scenarios = []scenario{
	{"defaults", map[string]any{
		"RepositoryId":       "my-org/my-app",
		"DockerHubSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecrbase/dockerhub-AbCdEf",
	}},
	{"pipeline-and-prefix", map[string]any{
		"RepositoryId":       "my-org/my-app",
		"DockerHubSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecrbase/dockerhub-AbCdEf",
		"ConnectionArn":      "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
		"RepositoryPrefix":   "mirror/",
	}},
	{"refresh-cache-kms", map[string]any{
		"RepositoryId":       "my-org/platform-images",
		"DockerHubSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecrbase/dockerhub-AbCdEf",
		"CatalogueFile":      "base-images.txt",
		"PullThroughCache":   "true",
		"KmsKeyArn":          "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"TagMutability":      "IMMUTABLE",
	}},
	{"refresh-cache-templates", map[string]any{
		"RepositoryId":       "my-org/platform-images",
		"DockerHubSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecrbase/dockerhub-AbCdEf",
		"CatalogueFile":      "catalogue/images.txt",
		"PullThroughCache":   "true",
		"ConnectionArn":      "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
	}},
}

// stack is the template with the intrinsic functions of one scenario
// resolved: goformation's typed view, and the same data as plain JSON.
type stack struct {
	typed      *cloudformation.Template
	raw        map[string]any
	conditions map[string]bool
}

func loadStack(t *testing.T, sc scenario) *stack {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	conds := evalConditions(t, data, sc.params)
	opts := &intrinsics.ProcessorOptions{
		ParameterOverrides: sc.params,
		// goformation leaves Fn::If unresolved unless it evaluates conditions,
		// and its condition evaluation replaces resources carrying a
		// Condition attribute with a bool. Resolve Fn::If here instead.
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Fn::If": func(_ string, input any, _ any) any {
				args, ok := input.([]any)
				if !ok || len(args) != 3 {
					return nil
				}
				name, _ := args[0].(string)
				v, ok := conds[name]
				if !ok {
					t.Errorf("Fn::If names unknown condition %q", name)
					return nil
				}
				if v {
					return args[1]
				}
				return args[2]
			},
		},
	}
	typed, err := goformation.ParseYAMLWithOptions(withoutNewerProperties(t, data), opts)
	if err != nil {
		t.Fatalf("goformation: parsing %s: %v", templatePath, err)
	}
	js, err := intrinsics.ProcessYAML(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	return &stack{typed: typed, raw: raw, conditions: conds}
}

// evalConditions evaluates the template's Conditions section with the given
// parameters, using goformation's own Fn::Equals, Fn::Not and Ref.
func evalConditions(t *testing.T, data []byte, params map[string]any) map[string]bool {
	t.Helper()
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{ParameterOverrides: params, EvaluateConditions: true})
	if err != nil {
		t.Fatal(err)
	}
	var processed struct{ Conditions map[string]any }
	if err := json.Unmarshal(js, &processed); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for name, v := range processed.Conditions {
		b, ok := v.(bool)
		if !ok {
			t.Fatalf("condition %s did not evaluate to a bool: %v", name, v)
		}
		out[name] = b
	}
	return out
}

func TestTemplateParses(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			st := loadStack(t, sc)
			known := cloudformation.AllResources()
			resources := st.raw["Resources"].(map[string]any)
			for name, r := range resources {
				typ, _ := r.(map[string]any)["Type"].(string)
				if _, ok := known[typ]; !ok {
					t.Errorf("resource %s: unknown type %q", name, typ)
				}
				if _, ok := st.typed.Resources[name]; !ok {
					t.Errorf("resource %s missing from goformation's parse", name)
				}
			}
			// goformation's typed parse rejects unknown properties and wrong
			// types; its JSON schema adds required properties and enums.
			for _, e := range validateTemplate(st.raw) {
				t.Error(e)
			}
		})
	}
}

// cfnSchema is goformation's CloudFormation JSON schema, parsed once.
var cfnSchema = sync.OnceValues(func() (map[string]any, error) {
	var s map[string]any
	err := json.Unmarshal([]byte(schema.CloudformationSchema), &s)
	return s, err
})

// newerProperties are properties CloudFormation has that goformation v7.14.9
// (its newest release) lacks: its typed parse refuses them and its schema
// does not list them. loadStack hides them from goformation, and
// TestTemplateNewerProperties checks them from the YAML itself.
var newerProperties = map[string][]string{
	"AWS::ECR::RepositoryCreationTemplate": {"CustomRoleArn"},
}

// withoutNewerProperties returns the template with newerProperties removed.
func withoutNewerProperties(t *testing.T, data []byte) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing %s: %v", templatePath, err)
	}
	for _, r := range mappingValues(mappingValue(doc.Content[0], "Resources")) {
		typ := mappingValue(r, "Type")
		props := mappingValue(r, "Properties")
		if typ == nil || props == nil {
			continue
		}
		for _, k := range newerProperties[typ.Value] {
			for i := 0; i+1 < len(props.Content); i += 2 {
				if props.Content[i].Value == k {
					props.Content = append(props.Content[:i], props.Content[i+2:]...)
					break
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutKeys returns a copy of r whose section (a map) lacks keys.
func withoutKeys(r map[string]any, section string, keys []string) map[string]any {
	out := map[string]any{}
	for k, v := range r {
		out[k] = v
	}
	sec := map[string]any{}
	for k, v := range asMap(r[section]) {
		if !slices.Contains(keys, k) {
			sec[k] = v
		}
	}
	out[section] = sec
	return out
}

// mappingValue is the value of key in a YAML mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mappingValues lists the values of a YAML mapping node.
func mappingValues(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i])
		}
	}
	return out
}

// validateTemplate checks a resolved template against goformation's schema:
// top-level sections, parameters, and every resource by its type. Values
// that goformation cannot resolve offline (Fn::GetAtt, AWS::NoValue) are nil
// and skipped.
func validateTemplate(tpl map[string]any) []string {
	s, err := cfnSchema()
	if err != nil {
		return []string{err.Error()}
	}
	defs := s["definitions"].(map[string]any)
	top := s["properties"].(map[string]any)
	var errs []string
	for k := range tpl {
		if _, ok := top[k]; !ok {
			errs = append(errs, fmt.Sprintf("unknown top-level section %q", k))
		}
	}
	for name, p := range asMap(tpl["Parameters"]) {
		v := schemaCheck{defs: defs}
		v.check(p, defs["Parameter"].(map[string]any), "Parameters."+name)
		errs = append(errs, v.errs...)
	}
	for name, r := range asMap(tpl["Resources"]) {
		typ, _ := asMap(r)["Type"].(string)
		def, ok := defs[typ].(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("Resources.%s: no schema for type %q", name, typ))
			continue
		}
		if newer := newerProperties[typ]; len(newer) > 0 {
			r = withoutKeys(asMap(r), "Properties", newer)
		}
		v := schemaCheck{defs: defs}
		v.check(r, def, "Resources."+name)
		errs = append(errs, v.errs...)
	}
	for name, o := range asMap(tpl["Outputs"]) {
		if _, ok := asMap(o)["Value"]; !ok {
			errs = append(errs, fmt.Sprintf("Outputs.%s: no Value", name))
		}
	}
	sort.Strings(errs)
	return errs
}

// schemaCheck implements the part of JSON Schema that goformation's schema
// uses: $ref, anyOf/oneOf, type, enum, pattern, properties,
// additionalProperties, patternProperties, required and items.
type schemaCheck struct {
	defs map[string]any
	errs []string
}

func (c *schemaCheck) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *schemaCheck) check(v any, s map[string]any, path string) {
	if v == nil {
		return
	}
	if ref, ok := s["$ref"].(string); ok {
		def, ok := c.defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		if !ok {
			c.errorf("%s: schema reference %s not found", path, ref)
			return
		}
		s = def
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		branches, ok := s[key].([]any)
		if !ok {
			continue
		}
		matched := false
		for _, b := range branches {
			sub := schemaCheck{defs: c.defs}
			sub.check(v, b.(map[string]any), path)
			if len(sub.errs) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			c.errorf("%s: %v matches none of the allowed forms", path, v)
			return
		}
	}
	if t, ok := s["type"]; ok && !typeMatches(v, t) {
		c.errorf("%s: %v (%T) is not of type %v", path, v, v, t)
		return
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		c.errorf("%s: %v is not one of %v", path, v, enum)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, ok := v.(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(str) {
				c.errorf("%s: %q does not match %s", path, str, p)
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props := asMap(s["properties"])
		patterns := asMap(s["patternProperties"])
		for k, val := range v {
			if ps, ok := props[k].(map[string]any); ok {
				c.check(val, ps, path+"."+k)
				continue
			}
			matched := false
			for p, ps := range patterns {
				if re, err := regexp.Compile(p); err == nil && re.MatchString(k) {
					c.check(val, ps.(map[string]any), path+"."+k)
					matched = true
				}
			}
			if matched {
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					c.errorf("%s: unknown property %q", path, k)
				}
			case map[string]any:
				c.check(val, ap, path+"."+k)
			}
		}
		for _, r := range asSlice(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				c.errorf("%s: missing required property %q", path, r)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range v {
				c.check(e, items, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
}

func typeMatches(v any, t any) bool {
	if list, ok := t.([]any); ok {
		return slices.ContainsFunc(list, func(e any) bool { return typeMatches(v, e) })
	}
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number", "integer":
		_, ok := v.(float64)
		return ok
	}
	return true
}

func TestValidateTemplateReportsMissingRequired(t *testing.T) {
	// goformation's typed parse accepts a resource without its required
	// properties; validateTemplate is what catches it.
	tpl := map[string]any{
		"Resources": map[string]any{
			"P": map[string]any{
				"Type": "AWS::CodeBuild::Project",
				"Properties": map[string]any{
					"ServiceRole": "arn:aws:iam::123456789012:role/r",
					"Source":      map[string]any{"Type": "CODEPIPELINE"},
					"Artifacts":   map[string]any{"Type": "CODEPIPELINE"},
					"Environment": map[string]any{"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL", "PrivilegedMode": true},
				},
			},
		},
	}
	js, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goformation.ParseJSON(js); err != nil {
		t.Fatalf("goformation.ParseJSON: %v (the premise of this test no longer holds)", err)
	}
	errs := validateTemplate(tpl)
	if len(errs) != 1 || !strings.Contains(errs[0], `missing required property "Image"`) {
		t.Errorf("validateTemplate(project without Image) = %q, want one missing-required error", errs)
	}
}

// statement is one Allow statement of an IAM policy, actions and resources
// normalised to lists.
type statement struct {
	role, sid string
	actions   []string
	resources []any // nil entries are Fn::GetAtt values goformation cannot resolve
}

// roleStatements returns the Allow statements of a role's inline policies.
func roleStatements(t *testing.T, st *stack, role string) []statement {
	t.Helper()
	r := asMap(asMap(st.raw["Resources"])[role])
	if r == nil {
		t.Fatalf("template has no resource %s", role)
	}
	var out []statement
	for _, p := range asSlice(asMap(r["Properties"])["Policies"]) {
		for _, s := range asSlice(asMap(asMap(p)["PolicyDocument"])["Statement"]) {
			sm := asMap(s)
			if sm["Effect"] != "Allow" {
				continue
			}
			stmt := statement{role: role}
			stmt.sid, _ = sm["Sid"].(string)
			for _, a := range listOf(sm["Action"]) {
				stmt.actions = append(stmt.actions, a.(string))
			}
			stmt.resources = listOf(sm["Resource"])
			out = append(out, stmt)
		}
	}
	return out
}

func TestTemplateRoleCoversECRCalls(t *testing.T) {
	calls := ecrPackageCalls(t)
	required := map[string]string{}
	for action, where := range calls {
		required[action] = where
	}
	for _, a := range registryDataPlane {
		if _, ok := required[a]; !ok {
			required[a] = "registry API push/pull"
		}
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			st := loadStack(t, sc)
			stmts := roleStatements(t, st, "BuildRole")
			if problems := roleCoverage(stmts, required); len(problems) > 0 {
				t.Errorf("BuildRole does not match the AWS calls ecrbase makes:\n%s", strings.Join(problems, "\n"))
			}
			wantRepos := mirrorRepositoryARNs(sc)
			for _, s := range stmts {
				if s.sid != "MirrorRepositories" {
					continue
				}
				var got []string
				for _, r := range s.resources {
					got = append(got, fmt.Sprint(r))
				}
				sort.Strings(got)
				if !slices.Equal(got, wantRepos) {
					t.Errorf("MirrorRepositories resources = %q, want %q", got, wantRepos)
				}
			}
		})
	}
}

// mirrorRepositoryARNs is where the mirror may write: below RepositoryPrefix
// when it is set, else below each pull-through-cache prefix the rewrite
// engine uses for the well-known registries.
func mirrorRepositoryARNs(sc scenario) []string {
	base := fmt.Sprintf("arn:aws:ecr:%s:%s:repository/", testRegion, testAccount)
	if p, _ := sc.params["RepositoryPrefix"].(string); p != "" {
		return []string{base + p + "*"}
	}
	var out []string
	for _, host := range []string{"docker.io", "public.ecr.aws", "quay.io", "ghcr.io", "registry.k8s.io", "registry.gitlab.com"} {
		out = append(out, base+rewrite.DefaultPrefix(host)+"/*")
	}
	sort.Strings(out)
	return out
}

// accountLevelECR are the ECR actions that accept no resource narrower than "*".
var accountLevelECR = map[string]bool{
	"ecr:GetAuthorizationToken":       true,
	"ecr:DescribeRegistry":            true,
	"ecr:PutReplicationConfiguration": true,
}

// roleCoverage compares a role's ECR and STS grants with the actions
// ecrbase needs (action -> where in the code it comes from). It reports
// actions missing, actions granted that nothing calls, wildcard actions, and
// repository-level ECR actions not scoped to repository ARNs.
func roleCoverage(stmts []statement, required map[string]string) []string {
	var problems []string
	granted := map[string]bool{}
	repoARN := regexp.MustCompile(`^arn:aws:ecr:` + testRegion + `:` + testAccount + `:repository/[a-z0-9][a-z0-9._/-]*\*?$`)
	for _, s := range stmts {
		for _, a := range s.actions {
			svc, _, _ := strings.Cut(a, ":")
			if svc != "ecr" && svc != "sts" {
				continue
			}
			if strings.Contains(a, "*") {
				problems = append(problems, fmt.Sprintf("statement %s grants wildcard action %s", s.sid, a))
				continue
			}
			granted[a] = true
			if svc != "ecr" || accountLevelECR[a] {
				continue
			}
			for _, r := range s.resources {
				if r == nil {
					continue // Fn::GetAtt of a repository in the stack
				}
				if str, _ := r.(string); !repoARN.MatchString(str) {
					problems = append(problems, fmt.Sprintf("statement %s grants %s on %v, not on repository ARNs", s.sid, a, r))
				}
			}
		}
	}
	for _, a := range sortedKeys(required) {
		if !granted[a] {
			problems = append(problems, fmt.Sprintf("missing %s (called at %s)", a, required[a]))
		}
	}
	for _, a := range sortedKeys(granted) {
		if _, ok := required[a]; !ok {
			problems = append(problems, fmt.Sprintf("grants %s, which ecrbase does not call", a))
		}
	}
	return problems
}

func TestRoleCoverageReportsAddedCall(t *testing.T) {
	// A call added to the ecr package's AWS interface must fail the template
	// check until the role grants it.
	src := `package ecr

import (
	"context"

	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type api interface {
	GetAuthorizationToken(context.Context, *awsecr.GetAuthorizationTokenInput, ...func(*awsecr.Options)) (*awsecr.GetAuthorizationTokenOutput, error)
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	DeleteRepository(context.Context, *awsecr.DeleteRepositoryInput, ...func(*awsecr.Options)) (*awsecr.DeleteRepositoryOutput, error)
}
`
	calls, err := callsInSource(map[string]string{"aws.go": src})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ecr:DeleteRepository", "ecr:GetAuthorizationToken", "sts:GetCallerIdentity"}
	if got := sortedKeys(calls); !slices.Equal(got, want) {
		t.Fatalf("callsInSource = %q, want %q", got, want)
	}
	st := loadStack(t, scenarios[0])
	problems := roleCoverage(roleStatements(t, st, "BuildRole"), calls)
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "missing ecr:DeleteRepository") }) {
		t.Errorf("roleCoverage with an added DeleteRepository call = %q, want it reported missing", problems)
	}
}

func TestTemplateSettings(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			st := loadStack(t, sc)
			res := asMap(st.raw["Resources"])

			for _, p := range []string{"RepositoryId", "Branch", "ConnectionArn", "DockerHubSecretArn", "RepositoryPrefix"} {
				if _, ok := asMap(st.raw["Parameters"])[p]; !ok {
					t.Errorf("template has no parameter %s", p)
				}
			}

			project := asMap(asMap(res["BuildProject"])["Properties"])
			env := asMap(project["Environment"])
			if env["PrivilegedMode"] != true {
				t.Errorf("BuildProject PrivilegedMode = %v, want true (docker build needs it)", env["PrivilegedMode"])
			}
			secret := sc.params["DockerHubSecretArn"].(string)
			vars := map[string]map[string]any{}
			for _, v := range asSlice(env["EnvironmentVariables"]) {
				vars[asMap(v)["Name"].(string)] = asMap(v)
			}
			for name, key := range map[string]string{"DOCKERHUB_USERNAME": "username", "DOCKERHUB_TOKEN": "token"} {
				v := vars[name]
				if v == nil || v["Type"] != "SECRETS_MANAGER" || v["Value"] != secret+":"+key {
					t.Errorf("BuildProject variable %s = %v, want SECRETS_MANAGER %s:%s", name, v, secret, key)
				}
			}

			bucket := asMap(asMap(res["ArtifactBucket"])["Properties"])
			pab := asMap(bucket["PublicAccessBlockConfiguration"])
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if pab[k] != true {
					t.Errorf("ArtifactBucket %s = %v, want true", k, pab[k])
				}
			}
			sse := asSlice(asMap(bucket["BucketEncryption"])["ServerSideEncryptionConfiguration"])
			if len(sse) == 0 || asMap(asMap(sse[0])["ServerSideEncryptionByDefault"])["SSEAlgorithm"] == nil {
				t.Errorf("ArtifactBucket has no default encryption: %v", bucket["BucketEncryption"])
			}

			var secretGranted bool
			for _, s := range roleStatements(t, st, "BuildRole") {
				if slices.Contains(s.actions, "secretsmanager:GetSecretValue") {
					if !slices.Equal(s.resources, []any{secret}) {
						t.Errorf("secretsmanager:GetSecretValue granted on %v, want only %s", s.resources, secret)
					}
					secretGranted = true
				}
			}
			if !secretGranted {
				t.Error("BuildRole cannot read the Docker Hub secret")
			}

			pipeline := st.conditions["CreatePipeline"]
			if want := sc.params["ConnectionArn"] != nil; pipeline != want {
				t.Errorf("CreatePipeline = %v, want %v", pipeline, want)
			}
			for _, name := range []string{"Pipeline", "PipelineRole"} {
				if c := asMap(res[name])["Condition"]; c != "CreatePipeline" {
					t.Errorf("%s has Condition %v, want CreatePipeline", name, c)
				}
			}
			srcType := asMap(project["Source"])["Type"]
			if pipeline && srcType != "CODEPIPELINE" || !pipeline && srcType == "CODEPIPELINE" {
				t.Errorf("BuildProject source type %v with CreatePipeline=%v", srcType, pipeline)
			}
			if pipeline {
				source := asMap(asSlice(asMap(asSlice(asMap(asMap(res["Pipeline"])["Properties"])["Stages"])[0])["Actions"])[0])
				if p := asMap(source["ActionTypeId"])["Provider"]; p != "CodeStarSourceConnection" {
					t.Errorf("pipeline source provider = %v, want CodeStarSourceConnection", p)
				}
				if c := asMap(source["Configuration"])["ConnectionArn"]; c != sc.params["ConnectionArn"] {
					t.Errorf("pipeline source connection = %v, want %v", c, sc.params["ConnectionArn"])
				}
			}
		})
	}
}

func TestBuildspecMatchesTemplate(t *testing.T) {
	// The project's SECRETS_MANAGER variables override the buildspec's block
	// only when the names agree.
	data, err := os.ReadFile("../buildspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Env struct {
			SecretsManager map[string]string `yaml:"secrets-manager"`
			Variables      map[string]string `yaml:"variables"`
		} `yaml:"env"`
	}
	if err := yaml.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	st := loadStack(t, scenarios[0])
	env := asMap(asMap(asMap(asMap(st.raw["Resources"])["BuildProject"])["Properties"])["Environment"])
	for _, v := range asSlice(env["EnvironmentVariables"]) {
		name := asMap(v)["Name"].(string)
		switch asMap(v)["Type"] {
		case "SECRETS_MANAGER":
			if _, ok := spec.Env.SecretsManager[name]; !ok {
				t.Errorf("template sets secret %s, which buildspec.yml's secrets-manager block does not declare", name)
			}
		default:
			if _, ok := spec.Env.Variables[name]; !ok {
				t.Errorf("template sets %s, which buildspec.yml does not use", name)
			}
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// listOf reads an IAM field that may be one value or a list.
func listOf(v any) []any {
	if s, ok := v.([]any); ok {
		return s
	}
	return []any{v}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
