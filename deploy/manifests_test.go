package deploy

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// closecastBinary builds cmd/closecast with the `go build` line of
// deploy/Dockerfile.closecast (no Docker engine runs here: this is how the
// image's binary is exercised).
func closecastBinary(t *testing.T) string {
	t.Helper()
	runs := goBuildLines(read(t, "Dockerfile.closecast"))
	if len(runs) != 1 || !strings.HasSuffix(runs[0], " ./cmd/closecast") {
		t.Fatalf("Dockerfile.closecast build lines %q: want one go build of ./cmd/closecast", runs)
	}
	bin := filepath.Join(t.TempDir(), "closecast")
	cmd := exec.Command("sh", "-c", outRE.ReplaceAllString(runs[0], "-o "+bin))
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", runs[0], err, out)
	}
	return bin
}

// commandLine is a closecast command line found in a deployment file.
type commandLine struct {
	where string
	args  []string // after "closecast"
}

// manifestDocs returns every YAML document of the files.
func manifestDocs(t *testing.T, files []string) map[string][]*yaml.Node {
	t.Helper()
	docs := map[string][]*yaml.Node{}
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(read(t, f))))
		for {
			var d yaml.Node
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			docs[f] = append(docs[f], &d)
		}
	}
	return docs
}

// scalars returns the values of a sequence node ("" for a non-scalar).
func scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// walk calls f on every mapping node under n.
func walk(n *yaml.Node, f func(*yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		f(n)
	}
	for _, c := range n.Content {
		walk(c, f)
	}
}

// k8sCommandLines returns the command lines of every container whose
// command is closecast.
func k8sCommandLines(where string, doc *yaml.Node) []commandLine {
	var out []commandLine
	walk(doc, func(m *yaml.Node) {
		for _, key := range []string{"containers", "initContainers"} {
			cs := node(m, key)
			if cs == nil {
				continue
			}
			for _, c := range cs.Content {
				line := append(scalars(node(c, "command")), scalars(node(c, "args"))...)
				if len(line) > 0 && filepath.Base(line[0]) == "closecast" {
					out = append(out, commandLine{where + " " + node(c, "name").Value, line[1:]})
				}
			}
		}
	})
	return out
}

// guideCommandLines returns the lines of a Markdown guide's code blocks
// that run closecast, cut at the first shell operator or comment.
func guideCommandLines(where, guide string) []commandLine {
	var out []commandLine
	inCode := false
	for _, line := range strings.Split(guide, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inCode = !inCode
			continue
		}
		f := strings.Fields(trimmed)
		if !inCode || len(f) < 2 || f[0] != "closecast" {
			continue
		}
		var args []string
		for _, a := range f[1:] {
			if a == "#" || a == "|" || a == "&&" || a == ";" || a == "\\" || strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") {
				break
			}
			args = append(args, a)
		}
		out = append(out, commandLine{where + ": " + trimmed, args})
	}
	return out
}

var flagLineRE = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// acceptedFlags returns the flags `closecast cmd --help` lists, or an error
// for an unknown command.
func acceptedFlags(bin, cmd string) ([]string, error) {
	c := exec.Command(bin, cmd, "--help")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		return nil, errors.New(stderr.String())
	}
	var flags []string
	for _, m := range flagLineRE.FindAllStringSubmatch(stderr.String(), -1) {
		flags = append(flags, m[1])
	}
	return flags, nil
}

// TestManifestCommandLines parses every Kubernetes manifest, the SAM
// template and the guide, and checks that each closecast command line in
// them names a command and only flags that the binary accepts.
func TestManifestCommandLines(t *testing.T) {
	bin := closecastBinary(t)
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/ (%v)", err)
	}
	var lines []commandLine
	docs := manifestDocs(t, files)
	for _, f := range files {
		for _, d := range docs[f] {
			lines = append(lines, k8sCommandLines(f, d)...)
		}
	}
	// The scheduled retrain's container: its Command follows the image's
	// entrypoint, closecast.
	tmpl := manifestDocs(t, []string{"template.yaml"})["template.yaml"][0]
	walk(tmpl, func(m *yaml.Node) {
		defs := node(m, "ContainerDefinitions")
		if defs == nil {
			return
		}
		for _, c := range defs.Content {
			lines = append(lines, commandLine{"template.yaml " + node(c, "Name").Value, scalars(node(c, "Command"))})
		}
	})
	lines = append(lines, guideCommandLines("README.md", read(t, "README.md"))...)

	seen := map[string]bool{}
	flags := map[string][]string{}
	for _, l := range lines {
		if len(l.args) == 0 {
			t.Errorf("%s: closecast without a command", l.where)
			continue
		}
		cmd := l.args[0]
		seen[cmd] = true
		if _, ok := flags[cmd]; !ok {
			fl, err := acceptedFlags(bin, cmd)
			if err != nil {
				t.Errorf("%s: closecast %s: %v", l.where, cmd, err)
			}
			flags[cmd] = fl
		}
		for _, a := range l.args[1:] {
			if !strings.HasPrefix(a, "-") {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !slices.Contains(flags[cmd], name) {
				t.Errorf("%s: closecast %s does not accept %s (it has %s)", l.where, cmd, a, strings.Join(flags[cmd], ", "))
			}
		}
	}
	// Every schedule and sweep the guide promises is there.
	for _, cmd := range []string{"serve", "retrain", "backtest", "train"} {
		if !seen[cmd] {
			t.Errorf("no closecast %s command line in the manifests, the template or the guide", cmd)
		}
	}
}

// TestKubernetesManifests checks what the manifests are for: the CronJob
// retrains, the Deployment's probes use /healthz and /readyz and the
// Service selects its pods, the Indexed Job tells closecast its size.
func TestKubernetesManifests(t *testing.T) {
	files, _ := filepath.Glob("k8s/*.yaml")
	kinds := map[string]*yaml.Node{}
	var indexed *yaml.Node
	for _, ds := range manifestDocs(t, files) {
		for _, d := range ds {
			kind := node(d, "kind").Value
			if kind == "Job" && node(d, "spec", "completionMode") != nil && node(d, "spec", "completionMode").Value == "Indexed" {
				indexed = d
			}
			kinds[kind] = d
		}
	}
	cron := kinds["CronJob"]
	if cron == nil || node(cron, "spec", "schedule") == nil {
		t.Fatal("no CronJob with a schedule")
	}
	cl := k8sCommandLines("cronjob", cron)
	if len(cl) != 1 || cl[0].args[0] != "retrain" || !slices.Contains(cl[0].args, "--symbols") {
		t.Errorf("CronJob runs %v, want closecast retrain --symbols …", cl)
	}
	dep := kinds["Deployment"]
	if dep == nil {
		t.Fatal("no Deployment")
	}
	c := node(dep, "spec", "template", "spec", "containers").Content[0]
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if p := node(c, probe, "httpGet", "path"); p == nil || p.Value != path {
			t.Errorf("%s: want httpGet %s", probe, path)
		}
	}
	if cl := k8sCommandLines("deployment", dep); len(cl) != 1 || cl[0].args[0] != "serve" {
		t.Errorf("Deployment runs %v, want closecast serve", cl)
	}
	svc := kinds["Service"]
	if svc == nil {
		t.Fatal("no Service")
	}
	labels := node(dep, "spec", "template", "metadata", "labels")
	sel := node(svc, "spec", "selector")
	for i := 0; i+1 < len(sel.Content); i += 2 {
		if v := node(labels, sel.Content[i].Value); v == nil || v.Value != sel.Content[i+1].Value {
			t.Errorf("Service selects %s=%s, which the Deployment's pods lack", sel.Content[i].Value, sel.Content[i+1].Value)
		}
	}
	if indexed == nil {
		t.Fatal("no Indexed Job")
	}
	completions := node(indexed, "spec", "completions").Value
	var size string
	for _, e := range node(node(indexed, "spec", "template", "spec", "containers").Content[0], "env").Content {
		if node(e, "name").Value == "JOB_COMPLETIONS" {
			size = node(e, "value").Value
		}
	}
	if size != completions {
		t.Errorf("Indexed Job: JOB_COMPLETIONS %q, completions %s: closecast must know the number of shards", size, completions)
	}
	if cl := k8sCommandLines("indexed", indexed); len(cl) != 1 || cl[0].args[0] != "backtest" || !slices.Contains(cl[0].args, "--results") {
		t.Errorf("Indexed Job runs %v, want closecast backtest … --results DIR", cl)
	}
}
