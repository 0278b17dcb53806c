package molotov

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mdLink matches a Markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// headingSlug returns the anchor GitHub gives a heading: lower case,
// punctuation dropped, spaces as dashes.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the heading anchors of a Markdown file.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]bool{}
	inCode := false
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if h, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " "); ok && !inCode && strings.HasPrefix(l, "#") {
			out[headingSlug(h)] = true
		}
	}
	return out
}

// TestDocLinks checks the links between the README, CONTRIBUTING and the
// pages of docs/: every relative link names a file (and a heading) that
// exists, and the README links to every page.
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	linkedFromREADME := map[string]bool{}
	for _, file := range append([]string{"README.md", "CONTRIBUTING.md"}, pages...) {
		src, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range mdLink.FindAllStringSubmatch(string(src), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), path)
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s: link %q: %v", file, target, err)
				continue
			}
			if file == "README.md" {
				linkedFromREADME[filepath.ToSlash(resolved)] = true
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") {
				assert.True(t, anchors(t, resolved)[anchor], "%s: link %q: %s has no heading with the anchor #%s", file, target, resolved, anchor)
			}
		}
	}
	for _, p := range pages {
		assert.True(t, linkedFromREADME[filepath.ToSlash(p)], "README.md links to no %s; add a link where its topic is", p)
	}
}
