package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/coreos/go-systemd/v22/unit"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/paligo/paligo-slack/api"
	"github.com/paligo/paligo-slack/app"
)

// secretValues are well-formed stand-ins for what a deployment's secrets
// hold, by setting.
var secretValues = map[string]string{
	"SLACK_BOT_TOKEN":            "xoxb-1-2-abc",
	"SLACK_APP_TOKEN":            "xapp-1-A1-2-abc",
	"PALIGO_SLACK_INGEST_SECRET": "0123456789abcdef0123456789abcdef",
	"PALIGO_SLACK_DB":            "postgres://paligo:pw@postgres:5432/paligo",
}

// startsWith says whether the program would start with env: every name a
// setting of run, and ParseConfig content with the values (the secrets'
// stand-ins where the file refers to a secret).
func startsWith(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := app.SettingNames()
	for name := range env {
		if !slices.Contains(known, name) {
			t.Errorf("%s sets %s, which is no setting of paligo-slack run", where, name)
		}
	}
	for _, need := range []string{"SLACK_BOT_TOKEN", "PALIGO_SLACK_INGEST_SECRET", "PALIGO_SLACK_DB"} {
		if env[need] == "" {
			t.Errorf("%s does not set %s (a deployment that receives events needs it)", where, need)
		}
	}
	if _, err := app.ParseConfig(nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("%s: the program would not start: %v", where, err)
	}
}

// kubernetesObjects decodes every document of deploy/kubernetes strictly
// (an unknown or misspelt member fails) into the Kubernetes API type its
// kind names.
func kubernetesObjects(t *testing.T) (deps []appsv1.Deployment, svcs []corev1.Service, pdbs []policyv1.PodDisruptionBudget) {
	files, _ := filepath.Glob("deploy/kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
			var head struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var err error
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				var d appsv1.Deployment
				err = yaml.UnmarshalStrict(doc, &d)
				deps = append(deps, d)
			case "v1 Service":
				var s corev1.Service
				err = yaml.UnmarshalStrict(doc, &s)
				svcs = append(svcs, s)
			case "policy/v1 PodDisruptionBudget":
				var p policyv1.PodDisruptionBudget
				err = yaml.UnmarshalStrict(doc, &p)
				pdbs = append(pdbs, p)
			default:
				t.Fatalf("%s #%d: %q %q is not a kind this test knows", f, i, head.APIVersion, head.Kind)
			}
			if err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, head.Kind, err)
			}
		}
	}
	return
}

// TestKubernetesManifests: a Deployment whose probes are the program's
// /healthz and /readyz on its port, whose secrets are references and whose
// settings start the program; a Service and a PodDisruptionBudget that
// select its pods.
func TestKubernetesManifests(t *testing.T) {
	deps, svcs, pdbs := kubernetesObjects(t)
	if len(deps) != 1 || len(svcs) != 1 || len(pdbs) != 1 {
		t.Fatalf("%d Deployments, %d Services, %d PodDisruptionBudgets; want one each", len(deps), len(svcs), len(pdbs))
	}
	d, s, p := deps[0], svcs[0], pdbs[0]
	labels := d.Spec.Template.Labels
	for k, v := range d.Spec.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("the Deployment's selector %s=%s does not select its own pods", k, v)
		}
	}
	if len(s.Spec.Selector) == 0 || len(p.Spec.Selector.MatchLabels) == 0 {
		t.Fatal("the Service or the PodDisruptionBudget selects nothing")
	}
	for k, v := range s.Spec.Selector {
		if labels[k] != v {
			t.Errorf("the Service's selector %s=%s does not select the pods", k, v)
		}
	}
	for k, v := range p.Spec.Selector.MatchLabels {
		if labels[k] != v {
			t.Errorf("the PodDisruptionBudget's selector %s=%s does not select the pods", k, v)
		}
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Error("the Deployment should run two replicas or more")
	}
	if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() < 1 || p.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("the PodDisruptionBudget's minAvailable %v lets no drain happen or keeps no replica", p.Spec.MinAvailable)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Args, []string{"run"}) {
		t.Errorf("args %v, want [run]", c.Args)
	}
	var port corev1.ContainerPort
	for _, cp := range c.Ports {
		if cp.Name == s.Spec.Ports[0].TargetPort.StrVal || (s.Spec.Ports[0].TargetPort.Type == intstr.Int && cp.ContainerPort == s.Spec.Ports[0].TargetPort.IntVal) {
			port = cp
		}
	}
	if port.ContainerPort == 0 {
		t.Fatalf("the Service's targetPort %v is no port of the container", s.Spec.Ports[0].TargetPort)
	}
	served := api.Patterns()
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want {
			t.Errorf("the %s probe should GET %s", name, want)
			continue
		}
		if !slices.Contains(served, "GET "+probe.HTTPGet.Path) {
			t.Errorf("the %s probe's %s is not served", name, probe.HTTPGet.Path)
		}
		if pp := probe.HTTPGet.Port; pp.StrVal != port.Name && pp.IntVal != port.ContainerPort {
			t.Errorf("the %s probe's port %v is not the listener's", name, pp)
		}
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod should run as non-root")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretValues[e.Name]
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "paligo-slack-7d9f-abcde"
		case e.ValueFrom != nil:
			t.Errorf("%s: only secrets and the pod's fields are referred to", e.Name)
		default:
			if _, secret := secretValues[e.Name]; secret {
				t.Errorf("%s is written in the manifest; it must come from a Secret", e.Name)
			}
			env[e.Name] = e.Value
		}
	}
	if !strings.HasPrefix(env["PALIGO_SLACK_LISTEN"], "0.0.0.0:") || !strings.HasSuffix(env["PALIGO_SLACK_LISTEN"], ":"+strconv.Itoa(int(port.ContainerPort))) {
		t.Errorf("PALIGO_SLACK_LISTEN %q: the probes and the Service need 0.0.0.0:%d", env["PALIGO_SLACK_LISTEN"], port.ContainerPort)
	}
	startsWith(t, "the Deployment", env)
}

// TestComposeFile loads compose.yaml with compose-go (the Compose
// specification's own loader and schema), with the settings of
// deploy/compose.env.example filled in: PostgreSQL and two replicas of the
// bot, each with a health check, started after PostgreSQL is healthy, on
// settings that start the program.
func TestComposeFile(t *testing.T) {
	example, err := os.ReadFile("deploy/compose.env.example")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"POSTGRES_PASSWORD": "pw"}
	for _, line := range strings.Split(string(example), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = secretValues[k]
			if env[k] == "" {
				env[k] = "pw"
			}
		}
	}
	project := loadCompose(t, env)
	if _, err := project.GetService("postgres"); err != nil {
		t.Fatal(err)
	}
	var bots []types.ServiceConfig
	for _, s := range project.Services {
		if s.Build != nil && s.Build.Dockerfile == "Containerfile" {
			bots = append(bots, s)
		}
	}
	if len(bots) != 2 {
		t.Fatalf("%d services of the bot's image, want 2 replicas", len(bots))
	}
	replicas := map[string]bool{}
	for _, b := range bots {
		if b.HealthCheck == nil || len(b.HealthCheck.Test) == 0 {
			t.Errorf("%s has no health check", b.Name)
		} else if !slices.Equal(b.HealthCheck.Test[1:], []string{"/paligo-slack", "healthcheck"}) {
			t.Errorf("%s checks its health with %v", b.Name, b.HealthCheck.Test)
		}
		if dep, ok := b.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s does not wait for PostgreSQL to be healthy", b.Name)
		}
		benv := map[string]string{}
		for k, v := range b.Environment {
			if v != nil {
				benv[k] = *v
			}
		}
		if !strings.HasPrefix(benv["PALIGO_SLACK_DB"], "postgres://") {
			t.Errorf("%s: PALIGO_SLACK_DB %q: replicas share PostgreSQL", b.Name, benv["PALIGO_SLACK_DB"])
		}
		replicas[benv["PALIGO_SLACK_REPLICA"]] = true
		startsWith(t, "compose.yaml's "+b.Name, benv)
	}
	if len(replicas) != 2 {
		t.Errorf("the replicas' names %v should differ", replicas)
	}
	if pg, _ := project.GetService("postgres"); pg.HealthCheck == nil {
		t.Error("postgres has no health check")
	}

	// A required setting left out stops the load, naming it.
	delete(env, "PALIGO_SLACK_INGEST_SECRET")
	if _, err := composeProject(env); err == nil || !strings.Contains(err.Error(), "PALIGO_SLACK_INGEST_SECRET") {
		t.Errorf("without the ingest secret: %v", err)
	}
}

func composeProject(env map[string]string) (*types.Project, error) {
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithEnv(pairs), cli.WithName("paligo-slack"))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	p, err := composeProject(env)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

// TestSystemdUnit parses the unit with go-systemd's parser: it runs `run`
// from the installed binary with its settings file and a state directory
// for the bbolt file, does not restart on a settings error (exit 2), and
// with the example settings file its settings start the program. Where
// systemd-analyze is installed (Debian's systemd), it verifies the unit too.
func TestSystemdUnit(t *testing.T) {
	const path = "deploy/systemd/paligo-slack.service"
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections, err := unit.DeserializeSections(f)
	if err != nil {
		t.Fatal(err)
	}
	svc := map[string][]string{}
	for _, s := range sections {
		if s.Section != "Service" {
			continue
		}
		for _, e := range s.Entries {
			svc[e.Name] = append(svc[e.Name], e.Value)
		}
	}
	one := func(key string) string {
		if len(svc[key]) != 1 {
			t.Errorf("[Service] %s is set %d times", key, len(svc[key]))
			return ""
		}
		return svc[key][0]
	}
	cmdline := strings.Fields(one("ExecStart"))
	if len(cmdline) != 2 || !strings.HasSuffix(cmdline[0], "/paligo-slack") || cmdline[1] != "run" {
		t.Fatalf("ExecStart %v", cmdline)
	}
	if one("RestartPreventExitStatus") != "2" {
		t.Error("a settings error (exit 2) should not be restarted in a loop")
	}
	state := one("StateDirectory")
	env := map[string]string{}
	for _, kv := range svc["Environment"] {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if !strings.HasPrefix(env["PALIGO_SLACK_DB"], "/var/lib/"+state+"/") {
		t.Errorf("PALIGO_SLACK_DB %q is not in the StateDirectory %q", env["PALIGO_SLACK_DB"], state)
	}
	if one("EnvironmentFile") == "" || len(svc["User"]) == 0 && one("DynamicUser") != "yes" {
		t.Error("the settings file or the unprivileged user is missing")
	}
	example, err := os.ReadFile("deploy/systemd/paligo-slack.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(example), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
			if s, secret := secretValues[k]; secret && k != "PALIGO_SLACK_DB" {
				env[k] = s
			}
		}
	}
	startsWith(t, "the systemd unit with its example settings", env)

	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		// Verified as installed: the binary where ExecStart says.
		dir := t.TempDir()
		raw, _ := os.ReadFile(path)
		bin, _ := os.Executable()
		unitText := strings.Replace(string(raw), "ExecStart="+cmdline[0], "ExecStart="+bin, 1)
		unitText = strings.Replace(unitText, "EnvironmentFile=", "EnvironmentFile=-", 1)
		if err := os.WriteFile(filepath.Join(dir, "paligo-slack.service"), []byte(unitText), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "paligo-slack.service")).CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.Contains(line, "paligo-slack.service") {
				t.Errorf("systemd-analyze verify: %s", line)
			}
		}
	}
}
