package closecast_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// shellCommands returns the commands of a Markdown file's ```sh blocks, one
// per line, without their trailing "# comment" (comments are translated,
// commands are not) and with runs of spaces folded.
func shellCommands(md string) []string {
	var out []string
	in := false
	comment := regexp.MustCompile(`\s+#\s.*$`)
	for _, line := range strings.Split(md, "\n") {
		switch t := strings.TrimSpace(line); {
		case strings.HasPrefix(t, "```"):
			in = t == "```sh"
		case in && t != "" && !strings.HasPrefix(t, "#"):
			out = append(out, strings.Join(strings.Fields(comment.ReplaceAllString(t, "")), " "))
		}
	}
	return out
}

// TestPortugueseReadmeCommandsAreTheEnglishOnes keeps README.pt-BR.md from
// drifting away from README.md: every shell command in the Portuguese one
// must also be in the English one, in a ```sh block or as inline code. The
// two must also link to each other.
func TestPortugueseReadmeCommandsAreTheEnglishOnes(t *testing.T) {
	en, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := os.ReadFile("README.pt-BR.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range shellCommands(string(en)) {
		known[c] = true
	}
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(string(en), -1) {
		known[strings.Join(strings.Fields(m[1]), " ")] = true
	}
	cmds := shellCommands(string(pt))
	if len(cmds) < 2 {
		t.Fatalf("README.pt-BR.md has %d shell commands; it must hold at least the two set-up commands", len(cmds))
	}
	for _, c := range cmds {
		if !known[c] {
			t.Errorf("README.pt-BR.md runs %q, which README.md does not: translate the commands of README.md, do not invent others", c)
		}
	}
	// The two set-up commands at the top of README.md come first in both.
	if top := shellCommands(string(en)); len(top) < 2 || cmds[0] != top[0] || cmds[1] != top[1] {
		t.Errorf("README.pt-BR.md starts with %q; want README.md's set-up commands first", cmds[:2])
	}
	if !strings.Contains(string(en), "(README.pt-BR.md)") || !strings.Contains(string(pt), "(README.md)") {
		t.Error("README.md and README.pt-BR.md must link to each other")
	}
}

func TestShellCommands(t *testing.T) {
	md := "text `go x`\n```sh\ngo build  ./x   # build it\n# a comment line\n\ncurl -d '{\"a\": 1}' url\n```\n```go\nfmt.Println()\n```\n"
	got := strings.Join(shellCommands(md), "|")
	if want := `go build ./x|curl -d '{"a": 1}' url`; got != want {
		t.Errorf("shellCommands = %q, want %q", got, want)
	}
}
