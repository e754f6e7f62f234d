package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"ecrbase/rewrite"
)

// param is a scenario's value of a template parameter, or its default.
func param(t *testing.T, st *stack, sc scenario, name string) string {
	t.Helper()
	if v, ok := sc.params[name]; ok {
		return v.(string)
	}
	p := asMap(asMap(st.raw["Parameters"])[name])
	if p == nil {
		t.Fatalf("template has no parameter %s", name)
	}
	d, _ := p["Default"].(string)
	return d
}

// envOf returns a CodeBuild project's environment variables by name.
func envOf(res map[string]any, project string) map[string]map[string]any {
	vars := map[string]map[string]any{}
	env := asMap(asMap(asMap(res[project])["Properties"])["Environment"])
	for _, v := range asSlice(env["EnvironmentVariables"]) {
		vars[asMap(v)["Name"].(string)] = asMap(v)
	}
	return vars
}

func TestTemplateOrganisationScale(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			st := loadStack(t, sc)
			res := asMap(st.raw["Resources"])
			present := func(name, cond string) bool {
				t.Helper()
				r := asMap(res[name])
				if r == nil {
					t.Fatalf("template has no resource %s", name)
				}
				if c := r["Condition"]; c != cond {
					t.Errorf("%s has Condition %v, want %s", name, c, cond)
				}
				return st.conditions[cond]
			}
			kms := param(t, st, sc, "KmsKeyArn")
			mutability := param(t, st, sc, "TagMutability")

			// The daily refresh: a schedule starting the refresh project,
			// which runs ecrbase mirror --images-from on the catalogue.
			catalogue := param(t, st, sc, "CatalogueFile")
			for _, name := range []string{"RefreshProject", "RefreshScheduleRole", "CatalogueRefresh"} {
				if got := present(name, "ScheduledRefresh"); got != (catalogue != "") {
					t.Errorf("ScheduledRefresh = %t with CatalogueFile %q", got, catalogue)
				}
			}
			if catalogue != "" {
				project := asMap(asMap(res["RefreshProject"])["Properties"])
				target := asMap(asMap(asMap(res["CatalogueRefresh"])["Properties"])["Target"])
				if target["Arn"] != "arn:aws:scheduler:::aws-sdk:codebuild:startBuild" {
					t.Errorf("schedule target %v, want CodeBuild StartBuild", target["Arn"])
				}
				var input struct{ ProjectName string }
				if err := json.Unmarshal([]byte(target["Input"].(string)), &input); err != nil || input.ProjectName != project["Name"] {
					t.Errorf("schedule input %v (%v), want ProjectName %v", target["Input"], err, project["Name"])
				}
				var grants []string
				for _, s := range roleStatements(t, st, "RefreshScheduleRole") {
					grants = append(grants, s.actions...)
				}
				if !slices.Equal(grants, []string{"codebuild:StartBuild"}) {
					t.Errorf("RefreshScheduleRole grants %q, want only codebuild:StartBuild", grants)
				}
				var spec struct {
					Phases map[string]struct{ Commands []string }
				}
				if err := yaml.Unmarshal([]byte(asMap(project["Source"])["BuildSpec"].(string)), &spec); err != nil {
					t.Fatalf("RefreshProject buildspec: %v", err)
				}
				if !slices.Contains(spec.Phases["build"].Commands, `ecrbase mirror --images-from "$ECRBASE_IMAGES_FROM"`) {
					t.Errorf("RefreshProject build commands = %q, want ecrbase mirror --images-from", spec.Phases["build"].Commands)
				}
				vars := envOf(res, "RefreshProject")
				if v := vars["ECRBASE_IMAGES_FROM"]; v["Value"] != catalogue {
					t.Errorf("RefreshProject ECRBASE_IMAGES_FROM = %v, want %s", v, catalogue)
				}
				for _, name := range []string{"DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"} {
					if vars[name]["Type"] != "SECRETS_MANAGER" {
						t.Errorf("RefreshProject %s = %v, want a SECRETS_MANAGER variable", name, vars[name])
					}
				}
			}

			// Pull-through cache under the prefix ecrbase mirrors Docker Hub into.
			if present("PullThroughCacheSecret", "CreatePullThroughCache") != (param(t, st, sc, "PullThroughCache") == "true") ||
				present("DockerHubPullThroughCache", "CreatePullThroughCache") != (param(t, st, sc, "PullThroughCache") == "true") {
				t.Error("pull-through-cache resources do not follow PullThroughCache")
			}
			if st.conditions["CreatePullThroughCache"] {
				secret := asMap(asMap(res["PullThroughCacheSecret"])["Properties"])
				if n, _ := secret["Name"].(string); !strings.HasPrefix(n, "ecr-pullthroughcache/") {
					t.Errorf("pull-through-cache secret name %q: ECR wants the ecr-pullthroughcache/ prefix", n)
				}
				var value map[string]string
				if err := json.Unmarshal([]byte(secret["SecretString"].(string)), &value); err != nil || value["username"] == "" || value["accessToken"] == "" {
					t.Errorf("pull-through-cache secret value %v (%v), want username and accessToken", secret["SecretString"], err)
				}
				rule := asMap(asMap(res["DockerHubPullThroughCache"])["Properties"])
				if rule["EcrRepositoryPrefix"] != rewrite.DefaultPrefix("docker.io") || rule["UpstreamRegistryUrl"] != "registry-1.docker.io" {
					t.Errorf("pull-through-cache rule %v, want prefix %s from registry-1.docker.io", rule, rewrite.DefaultPrefix("docker.io"))
				}
			}

			// The creation template carries what ecrbase mirror is given,
			// the KMS key included.
			templates := param(t, st, sc, "RepositoryTemplates") == "true"
			if got := present("DockerHubRepositoryTemplate", "CreateRepositoryTemplates"); got != templates {
				t.Errorf("CreateRepositoryTemplates = %t with RepositoryTemplates %q", got, param(t, st, sc, "RepositoryTemplates"))
			}
			if got := present("RepositoryTemplateRole", "CreateRepositoryTemplateRole"); got != (templates && kms != "") {
				t.Errorf("CreateRepositoryTemplateRole = %t with RepositoryTemplates %t and KmsKeyArn %q", got, templates, kms)
			}
			if st.conditions["CreateRepositoryTemplates"] {
				tpl := asMap(asMap(res["DockerHubRepositoryTemplate"])["Properties"])
				applied := asSlice(tpl["AppliedFor"])
				if !slices.Contains(applied, any("PULL_THROUGH_CACHE")) || !slices.Contains(applied, any("CREATE_ON_PUSH")) {
					t.Errorf("creation template applies for %v, want PULL_THROUGH_CACHE and CREATE_ON_PUSH", applied)
				}
				if tpl["Prefix"] != rewrite.DefaultPrefix("docker.io") || tpl["ImageTagMutability"] != mutability {
					t.Errorf("creation template %v, want prefix docker-hub, %s", tpl, mutability)
				}
				enc := asMap(tpl["EncryptionConfiguration"])
				want := map[string]any{"EncryptionType": "AES256"}
				if kms != "" {
					want = map[string]any{"EncryptionType": "KMS", "KmsKey": kms}
				}
				if fmt.Sprint(enc) != fmt.Sprint(want) {
					t.Errorf("creation template encryption %v, want %v", enc, want)
				}
			}
			if st.conditions["CreateRepositoryTemplateRole"] {
				role := asMap(asMap(res["RepositoryTemplateRole"])["Properties"])
				trust := asMap(asSlice(asMap(role["AssumeRolePolicyDocument"])["Statement"])[0])
				if asMap(trust["Principal"])["Service"] != "ecr.amazonaws.com" || trust["Action"] != "sts:AssumeRole" {
					t.Errorf("RepositoryTemplateRole trust %v, want ecr.amazonaws.com", trust)
				}
				grants := map[string][]any{}
				for _, s := range roleStatements(t, st, "RepositoryTemplateRole") {
					for _, a := range s.actions {
						grants[a] = s.resources
					}
				}
				repos := []any{"arn:aws:ecr:" + testRegion + ":" + testAccount + ":repository/docker-hub/*"}
				for _, a := range []string{"ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"} {
					if !slices.Equal(grants[a], repos) {
						t.Errorf("RepositoryTemplateRole %s on %v, want %v", a, grants[a], repos)
					}
				}
				for _, a := range []string{"kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"} {
					if !slices.Equal(grants[a], []any{kms}) {
						t.Errorf("RepositoryTemplateRole %s on %v, want the key %s", a, grants[a], kms)
					}
				}
				if len(grants) != 6 {
					t.Errorf("RepositoryTemplateRole grants %v, want the 6 actions above only", sortedKeys(grants))
				}
			}
			for _, project := range []string{"BuildProject", "RefreshProject"} {
				if project == "RefreshProject" && catalogue == "" {
					continue
				}
				vars := envOf(res, project)
				if vars["ECRBASE_KMS_KEY"]["Value"] != kms || vars["ECRBASE_TAG_MUTABILITY"]["Value"] != mutability {
					t.Errorf("%s repository settings %v %v, want KMS %q and %s", project, vars["ECRBASE_KMS_KEY"], vars["ECRBASE_TAG_MUTABILITY"], kms, mutability)
				}
			}

			// --kms-key needs grants on the key, and only then.
			var kmsGrants []statement
			for _, s := range roleStatements(t, st, "BuildRole") {
				if slices.ContainsFunc(s.actions, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
					kmsGrants = append(kmsGrants, s)
				}
			}
			switch {
			case kms == "" && len(kmsGrants) > 0:
				t.Errorf("BuildRole grants KMS actions without a key: %v", kmsGrants)
			case kms != "":
				if len(kmsGrants) != 1 || !slices.Equal(kmsGrants[0].resources, []any{kms}) ||
					!slices.Contains(kmsGrants[0].actions, "kms:CreateGrant") || !slices.Contains(kmsGrants[0].actions, "kms:DescribeKey") {
					t.Errorf("BuildRole KMS grants = %+v, want CreateGrant and DescribeKey on %s only", kmsGrants, kms)
				}
			}
		})
	}
}

// TestTemplateNewerProperties checks, from the YAML itself, the properties
// goformation does not know (newerProperties): the creation template's
// CustomRoleArn is the template role's ARN exactly when there is a KMS key,
// and the role exists then.
func TestTemplateNewerProperties(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	resources := mappingValue(doc.Content[0], "Resources")
	props := mappingValue(mappingValue(resources, "DockerHubRepositoryTemplate"), "Properties")
	arn := mappingValue(props, "CustomRoleArn")
	if arn == nil {
		t.Fatal("DockerHubRepositoryTemplate has no CustomRoleArn: ECR creates no KMS-encrypted repository from a template without one")
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			conds := evalConditions(t, data, sc.params)
			kms, _ := sc.params["KmsKeyArn"].(string)
			v := chooseIf(t, arn, conds)
			switch {
			case kms == "":
				if v.Tag != "!Ref" || v.Value != "AWS::NoValue" {
					t.Errorf("CustomRoleArn without a key = %s %q, want !Ref AWS::NoValue", v.Tag, v.Value)
				}
			case v.Tag != "!GetAtt" || v.Value != "RepositoryTemplateRole.Arn":
				t.Errorf("CustomRoleArn with a key = %s %q, want !GetAtt RepositoryTemplateRole.Arn", v.Tag, v.Value)
			default:
				role := mappingValue(resources, "RepositoryTemplateRole")
				if typ := mappingValue(role, "Type"); typ == nil || typ.Value != "AWS::IAM::Role" {
					t.Fatalf("RepositoryTemplateRole is %v, want an AWS::IAM::Role", typ)
				}
				// Wherever the template exists with a key, the role must too.
				c := mappingValue(role, "Condition")
				if conds["CreateRepositoryTemplates"] && (c == nil || !conds[c.Value]) {
					t.Errorf("RepositoryTemplateRole condition %v is false where the template uses the role", c)
				}
			}
		})
	}
}

// chooseIf resolves a YAML !If node (possibly nested) with the conditions;
// any other node is returned as it is.
func chooseIf(t *testing.T, n *yaml.Node, conds map[string]bool) *yaml.Node {
	t.Helper()
	for n.Tag == "!If" {
		if n.Kind != yaml.SequenceNode || len(n.Content) != 3 {
			t.Fatalf("line %d: !If wants [condition, then, else]", n.Line)
		}
		v, ok := conds[n.Content[0].Value]
		if !ok {
			t.Fatalf("line %d: !If names unknown condition %q", n.Line, n.Content[0].Value)
		}
		if v {
			n = n.Content[1]
		} else {
			n = n.Content[2]
		}
	}
	return n
}
