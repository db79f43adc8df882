package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// buildLine returns the `go build` command of the Dockerfile, with the
// output path replaced by OUT, so it can be compared with the guide's.
var outRE = regexp.MustCompile(`-o \S+`)

func normalize(cmd string) string {
	cmd = strings.ReplaceAll(cmd, "GOARCH=${TARGETARCH}", "GOARCH=amd64")
	return outRE.ReplaceAllString(strings.Join(strings.Fields(cmd), " "), "-o OUT")
}

// goBuildLines returns the `go build` commands of a Dockerfile's RUN lines.
func goBuildLines(dockerfile string) []string {
	var runs []string
	for _, line := range strings.Split(dockerfile, "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			runs = append(runs, strings.TrimPrefix(line, "RUN "))
		}
	}
	return runs
}

func TestDockerfileIsMultiStageNonRootOnProvidedAL2023(t *testing.T) {
	df := read(t, "Dockerfile")
	var froms []string
	var user string
	runs := goBuildLines(df)
	for _, line := range strings.Split(df, "\n") {
		switch {
		case strings.HasPrefix(line, "FROM "):
			froms = append(froms, line)
		case strings.HasPrefix(line, "USER "):
			user = strings.TrimPrefix(line, "USER ")
		}
	}
	if len(froms) != 2 || !strings.HasSuffix(froms[0], " AS build") || froms[1] != "FROM public.ecr.aws/lambda/provided:al2023" {
		t.Errorf("stages %q: want a Go build stage then public.ecr.aws/lambda/provided:al2023", froms)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	if len(runs) != 1 || !strings.Contains(runs[0], "-o /out/bootstrap ./cmd/lambda") || !strings.Contains(df, "COPY --from=build") || !strings.Contains(df, "/out/bootstrap /var/task/bootstrap") {
		t.Fatalf("build lines %q: want one go build of ./cmd/lambda to /out/bootstrap, copied to /var/task/bootstrap", runs)
	}
	// The guide's build command is the Dockerfile's.
	guide := read(t, "README.md")
	var found bool
	for _, line := range strings.Split(guide, "\n") {
		if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/lambda") && strings.HasPrefix(line, "CGO_ENABLED") {
			found = true
			if normalize(line) != normalize(runs[0]) {
				t.Errorf("README builds with\n  %s\nthe Dockerfile with\n  %s", normalize(line), normalize(runs[0]))
			}
		}
	}
	if !found {
		t.Error("README has no build command for ./cmd/lambda")
	}
	if !strings.Contains(guide, "No Docker engine runs") {
		t.Error("README must say that the Dockerfile is not built here")
	}
}

// node returns the mapping value under the path of keys, or nil.
func node(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func TestSAMTemplate(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(read(t, "template.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	fn := node(&doc, "Resources", "PredictFunction", "Properties")
	if fn == nil {
		t.Fatal("no PredictFunction")
	}
	for k, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": "build/", "MemorySize": "256", "Timeout": "15"} {
		if v := node(fn, k); v == nil || v.Value != want {
			t.Errorf("PredictFunction.%s = %v, want %s", k, v, want)
		}
	}
	// POST /predict on the HTTP API, as the reference.
	var post bool
	for _, ev := range node(fn, "Events").Content {
		if node(ev, "Type") != nil && node(ev, "Type").Value == "HttpApi" &&
			node(ev, "Properties", "Path").Value == "/predict" && node(ev, "Properties", "Method").Value == "POST" {
			post = true
		}
	}
	if !post {
		t.Error("no HttpApi POST /predict event")
	}
	// Log retention and a role limited to writing logs, no wildcards.
	if node(&doc, "Resources", "PredictLogGroup", "Properties", "RetentionInDays") == nil {
		t.Error("log group without retention")
	}
	stmts := node(&doc, "Resources", "PredictRole", "Properties", "Policies")
	if stmts == nil || len(stmts.Content) != 2 {
		t.Fatal("role must have exactly two inline policies: its logs, and in a VPC its network interfaces")
	}
	// The second exists only in a VPC, and allows only what Lambda needs to
	// attach the function to it.
	vpc := stmts.Content[1]
	if vpc.Tag != "!If" || len(vpc.Content) != 3 || vpc.Content[0].Value != "InVpc" || vpc.Content[2].Tag != "!Ref" || vpc.Content[2].Value != "AWS::NoValue" {
		t.Fatalf("second policy %v: want !If [InVpc, policy, !Ref AWS::NoValue]", vpc)
	}
	for _, st := range node(vpc.Content[1], "PolicyDocument", "Statement").Content {
		for _, a := range node(st, "Action").Content {
			if !strings.HasPrefix(a.Value, "ec2:") || !strings.Contains(a.Value, "NetworkInterface") && !strings.Contains(a.Value, "PrivateIpAddresses") {
				t.Errorf("VPC policy allows %s", a.Value)
			}
		}
	}
	for _, st := range node(stmts.Content[0], "PolicyDocument", "Statement").Content {
		for _, a := range node(st, "Action").Content {
			if a.Value != "logs:CreateLogStream" && a.Value != "logs:PutLogEvents" {
				t.Errorf("role allows %s", a.Value)
			}
		}
		if r := node(st, "Resource"); r == nil || r.Value == "*" || !strings.Contains(r.Value, "PredictLogGroup.Arn") {
			t.Errorf("role statement resource %v: want the function's own log group", r)
		}
	}
	if node(&doc, "Resources", "PredictRole", "Properties", "ManagedPolicyArns") != nil {
		t.Error("managed policies are broader than the function needs")
	}
}

// cfnLint finds cfn-lint: on PATH, else in a pyenv Python, where closecast's
// machine image installs it (pip); "" if neither has it.
func cfnLint() string {
	if p, err := exec.LookPath("cfn-lint"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	matches, _ := filepath.Glob(filepath.Join(home, ".pyenv", "versions", "*", "bin", "cfn-lint"))
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	return ""
}

// TestSAMTemplateLints runs cfn-lint (shipped on closecast's machine image;
// CI must have it: pip install cfn-lint) on the template.
func TestSAMTemplateLints(t *testing.T) {
	lint := cfnLint()
	if lint == "" {
		t.Fatal("cfn-lint not found on PATH or under ~/.pyenv/versions/*/bin (pip install cfn-lint)")
	}
	out, err := exec.Command(lint, "template.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

// TestSAMTemplateOptionalParts checks that the database, the VPC and the
// scheduled retrain are optional (empty defaults) and wired only under
// their conditions.
func TestSAMTemplateOptionalParts(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(read(t, "template.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"DatabaseSecretArn", "SubnetIds", "SecurityGroupIds", "RetrainSchedule", "RetrainImage"} {
		if d := node(&doc, "Parameters", p, "Default"); d == nil || d.Value != "" {
			t.Errorf("parameter %s: want an empty default (optional)", p)
		}
	}
	fn := node(&doc, "Resources", "PredictFunction", "Properties")
	if v := node(fn, "VpcConfig"); v == nil || v.Tag != "!If" || v.Content[0].Value != "InVpc" {
		t.Errorf("VpcConfig %v: want !If [InVpc, …]", v)
	}
	url := node(fn, "Environment", "Variables", "CLOSECAST_DATABASE_URL")
	if url == nil || url.Tag != "!If" || url.Content[0].Value != "HasDatabase" || !strings.Contains(url.Content[1].Value, "{{resolve:secretsmanager:${DatabaseSecretArn}:SecretString}}") {
		t.Errorf("CLOSECAST_DATABASE_URL %v: want the secret, only with HasDatabase", url)
	}
	timer := node(&doc, "Resources", "RetrainTimer")
	if timer == nil || node(timer, "Condition").Value != "ScheduleRetrain" || node(timer, "Type").Value != "AWS::Scheduler::Schedule" {
		t.Fatal("no RetrainTimer schedule under the ScheduleRetrain condition")
	}
	if e := node(timer, "Properties", "ScheduleExpression"); e == nil || e.Value != "RetrainSchedule" {
		t.Error("the schedule's expression is not the RetrainSchedule parameter")
	}
	for name, r := range resourcesOf(&doc) {
		if strings.HasPrefix(name, "Retrain") && (node(r, "Condition") == nil || node(r, "Condition").Value != "ScheduleRetrain") {
			t.Errorf("%s exists without a RetrainSchedule", name)
		}
	}
	secret := node(&doc, "Resources", "RetrainTask", "Properties", "ContainerDefinitions").Content[0]
	if s := node(secret, "Secrets").Content[0]; node(s, "Name").Value != "CLOSECAST_DATABASE_URL" || node(s, "ValueFrom").Value != "DatabaseSecretArn" {
		t.Error("the retrain task does not read CLOSECAST_DATABASE_URL from the secret")
	}
}

// resourcesOf returns the template's resources by name.
func resourcesOf(doc *yaml.Node) map[string]*yaml.Node {
	rs := node(doc, "Resources")
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(rs.Content); i += 2 {
		out[rs.Content[i].Value] = rs.Content[i+1]
	}
	return out
}
