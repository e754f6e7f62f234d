package examples

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// ecrDir is the package whose AWS calls the template's role must cover.
const ecrDir = "../ecr"

// registryDataPlane are the IAM actions behind the registry API (the Docker
// Registry HTTP API on <account>.dkr.ecr.<region>.amazonaws.com) that the
// mirror uses to push and read images. They are no SDK calls, so the code
// cannot name them.
var registryDataPlane = []string{
	"ecr:BatchCheckLayerAvailability",
	"ecr:InitiateLayerUpload",
	"ecr:UploadLayerPart",
	"ecr:CompleteLayerUpload",
	"ecr:PutImage",
	"ecr:BatchGetImage",
	"ecr:GetDownloadUrlForLayer",
}

// iamPrefix maps an aws-sdk-go-v2 service package to its IAM action prefix.
// A call into any other service fails the test: the role would lack it.
var iamPrefix = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/ecr": "ecr",
	"github.com/aws/aws-sdk-go-v2/service/sts": "sts",
}

const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// ecrPackageCalls returns the IAM actions of the AWS API operations the ecr
// package calls, each with the position that names it. It skips the test
// while the package does not exist yet.
func ecrPackageCalls(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ecrDir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = string(b)
	}
	if len(srcs) == 0 {
		t.Skipf("%s has no Go files yet: nothing to derive the role's ECR actions from", ecrDir)
	}
	calls, err := callsInSource(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatalf("found no AWS API operation in %s: the narrow AWS interface (type api interface) should name them", ecrDir)
	}
	return calls
}

// callsInSource finds the AWS API operations named in Go source files (file
// name -> content), as IAM actions mapped to a position. An operation is
// named by a parameter of type *<svc>.<Op>Input in an interface method (the
// narrow AWS interface), by an embedded <svc>.<Op>APIClient, or by a
// <svc>.<Op>Input composite literal anywhere (a direct client call). The
// service comes from the input type's package, never from the method name.
func callsInSource(srcs map[string]string) (map[string]string, error) {
	fset := token.NewFileSet()
	calls := map[string]string{}
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, srcs[name], parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		services := map[string]string{} // local package name -> import path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, sdkServicePrefix) || strings.Count(strings.TrimPrefix(path, sdkServicePrefix), "/") > 0 {
				continue // not an SDK service client package (types, internal, ...)
			}
			local := filepath.Base(path)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			services[local] = path
		}
		var walkErr error
		record := func(pkg *ast.Ident, typeName, suffix string, pos token.Pos) {
			path, ok := services[pkg.Name]
			if !ok || !strings.HasSuffix(typeName, suffix) || typeName == suffix {
				return
			}
			prefix, ok := iamPrefix[path]
			if !ok {
				if walkErr == nil {
					walkErr = fmt.Errorf("%s: calls %s.%s, a service the template's role does not cover; add it to iamPrefix and to the role", fset.Position(pos), pkg.Name, typeName)
				}
				return
			}
			action := prefix + ":" + strings.TrimSuffix(typeName, suffix)
			if _, seen := calls[action]; !seen {
				calls[action] = fset.Position(pos).String()
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.InterfaceType:
				for _, m := range n.Methods.List {
					switch typ := m.Type.(type) {
					case *ast.FuncType:
						for _, p := range typ.Params.List {
							if star, ok := p.Type.(*ast.StarExpr); ok {
								if sel, ok := star.X.(*ast.SelectorExpr); ok {
									if pkg, ok := sel.X.(*ast.Ident); ok {
										record(pkg, sel.Sel.Name, "Input", p.Pos())
									}
								}
							}
						}
					case *ast.SelectorExpr: // embedded SDK interface, e.g. awsecr.DescribeImagesAPIClient
						if pkg, ok := typ.X.(*ast.Ident); ok {
							record(pkg, typ.Sel.Name, "APIClient", typ.Pos())
						}
					}
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok {
						record(pkg, sel.Sel.Name, "Input", n.Pos())
					}
				}
			}
			return true
		})
		if walkErr != nil {
			return nil, walkErr
		}
	}
	return calls, nil
}

func TestCallsInSource(t *testing.T) {
	src := `package ecr

import (
	"context"

	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type api interface {
	CreateRepository(context.Context, *awsecr.CreateRepositoryInput, ...func(*awsecr.Options)) (*awsecr.CreateRepositoryOutput, error)
	awsecr.DescribeImagesAPIClient
}

type identity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

func scan(ctx context.Context, c *awsecr.Client) {
	c.DescribeImageScanFindings(ctx, &awsecr.DescribeImageScanFindingsInput{ImageId: &types.ImageIdentifier{}})
}
`
	calls, err := callsInSource(map[string]string{"aws.go": src})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ecr:CreateRepository", "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "sts:GetCallerIdentity"}
	if got := sortedKeys(calls); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("callsInSource = %q, want %q", got, want)
	}

	other := `package ecr

import "github.com/aws/aws-sdk-go-v2/service/kms"

type keys interface {
	DescribeKey(*kms.DescribeKeyInput) (*kms.DescribeKeyOutput, error)
}
`
	if _, err := callsInSource(map[string]string{"kms.go": other}); err == nil || !strings.Contains(err.Error(), "kms.DescribeKeyInput") {
		t.Errorf("callsInSource(kms call) error = %v, want one naming kms.DescribeKeyInput", err)
	}
}
