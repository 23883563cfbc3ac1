package helmflag

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMapsFlags(t *testing.T) {
	t.Parallel()
	var s Settings
	if err := Parse(Global, []string{"--debug"}, &s); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--atomic", "--force=true", "--create-namespace", "--no-hooks", "--skip-crds=false",
		"--timeout", "90s", "--post-renderer=./kustomize.sh", "--post-renderer-args", "a", "--post-renderer-args=b",
		"--description", "from skiff", "--labels", "team=web,tier=front", "--disable-openapi-validation",
		"--wait", "--plain-http", "--username", "u", "--password=p", "--ca-file", "ca.pem",
		"--history-max", "3", "--cleanup-on-fail", "--reuse-values",
	}
	if err := Parse(Upgrade, args, &s); err != nil {
		t.Fatal(err)
	}
	want := Settings{
		Atomic: true, Force: true, CreateNamespace: true, NoHooks: true,
		DisableOpenAPIValidation: true, CleanupOnFail: true, ReuseValues: true,
		PlainHTTP: true, Wait: true, Timeout: 90 * time.Second, HistoryMax: 3,
		Description: "from skiff", PostRenderer: "./kustomize.sh", PostRendererArgs: []string{"a", "b"},
		Labels: map[string]string{"team": "web", "tier": "front"},
		CAFile: "ca.pem", Username: "u", Password: "p",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", s, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command Command
		args    []string
		want    string
	}{
		{Install, []string{"--frobnicate"}, "helm flag --frobnicate is not supported by skiff, which installs with the Helm SDK; it honours --atomic, "},
		{Install, []string{"--set", "a=b"}, "helm flag --set is not supported by skiff, which installs with the Helm SDK: put the value in the release's setValues"},
		{Install, []string{"-f", "v.yaml"}, "list the file in the release's valuesFiles"},
		{Global, []string{"--kube-context=prod"}, "pass --kube-context to skiff"},
		{Global, []string{"--atomic"}, "helm flag --atomic is not a flag of helm global; skiff honours --debug there"},
		{Install, []string{"--reuse-values"}, "is not a flag of helm install"},
		{Install, []string{"--timeout"}, "helm flag --timeout needs a value"},
		{Install, []string{"--timeout", "soon"}, `helm flag --timeout "soon": time: invalid duration`},
		{Install, []string{"--atomic=maybe"}, `helm flag --atomic "maybe"`},
		{Upgrade, []string{"--labels", "nokey"}, `"nokey" is not key=value`},
		{Install, []string{"chart/"}, `"chart/" is not a flag: skiff passes no arguments to helm`},
	}
	for _, tc := range tests {
		err := Parse(tc.command, tc.args, &Settings{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s, %q) = %v, want an error containing %q", tc.command, tc.args, err, tc.want)
		}
	}
}
