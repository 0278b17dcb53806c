// Package suggest finds the name a user most likely meant: the one of a
// set of known names nearest to a misspelt one.
package suggest

import "strings"

// Nearest returns the candidate nearest to name by edit distance (case
// ignored), and whether one is near enough to be a likely typo: at most a
// third of name's length away, and at least one edit for every three
// letters. Ties go to the earlier candidate.
func Nearest(name string, candidates []string) (string, bool) {
	best, bestD := "", -1
	n := strings.ToLower(name)
	for _, c := range candidates {
		d := distance(n, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len([]rune(name))/3)
	if bestD < 0 || bestD > limit {
		return "", false
	}
	return best, true
}

// distance is the Levenshtein distance between a and b, by runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
