package settings_test

import (
	"fmt"
	"os"

	"ecrbase/settings"
)

// The command line hands over what the user set; each effective value
// comes back with its source.
func ExampleResolve() {
	file, err := settings.Parse(".ecrbase.yaml", "/repo", []byte("version: 1\nregion: eu-west-1\nprefixes:\n  docker.io: hub\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	given := settings.Given{
		"region": {Values: []string{"us-east-2"}, Env: "ECRBASE_REGION"},
		"strict": {Values: []string{"true"}},
	}
	s := settings.Resolve(file, given, os.LookupEnv)
	rows, err := s.Rows()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows[2:6] {
		fmt.Printf("%s[%s] = %v (%s)\n", r.Name, r.Key, r.Value, r.Source)
	}
	opts, _ := s.Rewrite()
	fmt.Println(opts.Region, opts.Prefixes["docker.io"], opts.Strict)
	// Output:
	// region[] = us-east-2 (env ECRBASE_REGION)
	// prefixes[docker.io] = hub (.ecrbase.yaml:4)
	// exclude[] = [] (default)
	// only[] = [] (default)
	// us-east-2 hub true
}
