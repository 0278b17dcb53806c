package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

const guide = "../docs/distributed.md"

// guideSection returns the text of a section of the guide, from its
// heading to the next heading of its level.
func guideSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(guide)
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no section %q", guide, heading)
	}
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if i := strings.Index(s, "\n"+level); i >= 0 {
		s = s[:i]
	}
	return s
}

// guideLine returns the line of a section of the guide that starts with
// prefix.
func guideLine(t *testing.T, heading, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(guideSection(t, heading), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("%s, %q: no line starts with %q", guide, heading, prefix)
	return ""
}

// The guide's steps on Kubernetes are those that TestIndexedJob runs:
// create, wait and collect with molotov-job.sh, then molotov merge of
// what collect wrote.
func TestGuideSteps(t *testing.T) {
	sec := guideSection(t, "## On Kubernetes")
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(sec)
	if block == nil {
		t.Fatal("the Kubernetes section has no sh block")
	}
	steps := strings.Join(strings.Fields(strings.ReplaceAll(block[1], "\\\n", " ")), " ")
	for _, want := range []string{
		"docker build -f deploy/loadtest/Dockerfile --build-arg PACKAGE=./loadtest -t $IMAGE .",
		"JOB=checkout-load IMAGE=$IMAGE SEGMENTS=8 TARGET=https://staging.example.com START_IN=120 deploy/loadtest/molotov-job.sh create",
		"deploy/loadtest/molotov-job.sh wait checkout-load",
		"deploy/loadtest/molotov-job.sh collect checkout-load",
		"molotov merge results-checkout-load/result-*.json -o total.json",
	} {
		if !strings.Contains(steps, want) {
			t.Errorf("the guide's steps lack %q", want)
		}
	}
}
